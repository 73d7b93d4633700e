-- The records a commit wrote (kind, id, version, state, content digest), listed as JSON on the
-- commit's first event and hashed with it (railyard_store::event_hash); empty on every other event.
-- (PostgreSQL has kept the chain head in its own row, chain_head, from the first schema.)
ALTER TABLE events ADD COLUMN writes TEXT NOT NULL DEFAULT '';

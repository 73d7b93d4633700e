-- The audit log keeps its head in a row of its own, moved in the same transaction as every commit that
-- appends events, and appends after it: deleting the newest events leaves a gap below the stored head
-- instead of a shorter chain that looks whole. Started from the newest event already stored.
CREATE TABLE chain_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash)
SELECT 1, COALESCE(MAX(seq), 0),
       COALESCE((SELECT hash FROM events ORDER BY seq DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000')
FROM events;

-- The records a commit wrote (kind, id, version, state, content digest), listed as JSON on the
-- commit's first event and hashed with it (railyard_store::event_hash); empty on every other event.
ALTER TABLE events ADD COLUMN writes TEXT NOT NULL DEFAULT '';

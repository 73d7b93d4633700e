-- Railyard's first schema (SQLite). The PostgreSQL schema has the same tables and columns.
-- Times are TEXT written by railyard_store::format_time: fixed width, so text order is time order.

CREATE TABLE records (
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT,
    parent_id   TEXT,
    category    TEXT,
    unique_key  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    doc         TEXT NOT NULL,
    -- Ids are unique within a kind: a user and an environment may both be called "test".
    CONSTRAINT records_pkey PRIMARY KEY (kind, id),
    CONSTRAINT records_kind_unique_key UNIQUE (kind, unique_key)
);
CREATE INDEX records_kind_seq ON records (kind, seq);
CREATE INDEX records_kind_state_seq ON records (kind, state, seq);
CREATE INDEX records_kind_parent_seq ON records (kind, parent_id, seq);
CREATE INDEX records_kind_category_seq ON records (kind, category, seq);

-- The append-only audit log: a SHA-256 hash chain (railyard_store::event_hash). commit_seq is the seq
-- of the first event written by the same commit: the events of one change share it.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    commit_seq   INTEGER NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    object_kind  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    data         TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    CONSTRAINT events_commit_seq_range CHECK (commit_seq BETWEEN 1 AND seq)
);
CREATE INDEX events_commit_seq ON events (commit_seq, seq);
CREATE INDEX events_object_kind ON events (object_kind, seq);
CREATE INDEX events_object_id ON events (object_id, seq);
CREATE INDEX events_actor ON events (actor, seq);
CREATE INDEX events_at ON events (at);

-- The last number each counter handed out (next_seq, reserve_seqs).
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);

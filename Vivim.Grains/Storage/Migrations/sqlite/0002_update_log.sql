-- The update log of every DID: one head row per DID, its updates keyed (did, seq), its commits, and its current
-- documents keyed (did, path). Rows refer to the head by its integer id rather than repeating the DID (~56 bytes)
-- in every row. The keyed tables are WITHOUT ROWID: stored in key order, so reading a DID's log from a cursor or
-- all of its documents is one range scan with no second lookup. Hashes are stored as 32 raw bytes.

-- The log holds first_retained_seq..last_seq (empty when first > last); an append continues it only from last_seq.
CREATE TABLE vivim_log_heads (
    id INTEGER PRIMARY KEY,
    did TEXT NOT NULL UNIQUE,
    last_seq INTEGER NOT NULL,
    first_retained_seq INTEGER NOT NULL
) STRICT;

CREATE TABLE vivim_log_updates (
    did_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    update_id TEXT NOT NULL,
    update_hash BLOB NOT NULL,
    root BLOB NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (did_id, seq)
) STRICT, WITHOUT ROWID;

-- Retries look updates up by id; the uniqueness is the log's own guard against a second seq for one update.
CREATE UNIQUE INDEX vivim_log_updates_update_id ON vivim_log_updates (did_id, update_id);

CREATE TABLE vivim_log_commits (
    did_id INTEGER NOT NULL,
    from_seq INTEGER NOT NULL,
    to_seq INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (did_id, from_seq)
) STRICT, WITHOUT ROWID;

-- value: the document's tree value (SHA-256 of its canonical JSON); seq: the update that last wrote it.
CREATE TABLE vivim_documents (
    did_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    json TEXT NOT NULL,
    value BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (did_id, path)
) STRICT, WITHOUT ROWID;

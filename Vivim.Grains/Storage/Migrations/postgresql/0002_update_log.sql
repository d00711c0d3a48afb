-- The update log of every DID: one head row per DID, its updates keyed (did, seq), its commits, and its current
-- documents keyed (did, path). Rows refer to the head by a bigint id rather than repeating the DID (~56 bytes) in
-- every row and index entry. Text that is compared (DIDs, paths, update ids) uses the "C" collation: byte order, the
-- cheapest comparison, and the same on every server whatever its locale. Hashes are stored as 32 raw bytes.

-- last_seq and first_retained_seq: the log holds first_retained_seq..last_seq (empty when first > last). An append
-- moves last_seq only if it equals the append's first seq - 1, which is what refuses an append that does not
-- continue the log (and one of two racing appenders). Updated on every append: room on the page keeps the update HOT.
CREATE TABLE vivim_log_heads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    did text COLLATE "C" NOT NULL UNIQUE,
    last_seq bigint NOT NULL,
    first_retained_seq bigint NOT NULL
) WITH (fillfactor = 50);

-- No foreign keys to the head: every write goes through the head row in the same statement, and a foreign key
-- check per inserted row would cost more than it protects.
CREATE TABLE vivim_log_updates (
    did_id bigint NOT NULL,
    seq bigint NOT NULL,
    update_id text COLLATE "C" NOT NULL,
    update_hash bytea NOT NULL,
    root bytea NOT NULL,
    json text NOT NULL,
    PRIMARY KEY (did_id, seq)
);

-- Retries look updates up by id; the uniqueness is the log's own guard against a second seq for one update.
CREATE UNIQUE INDEX vivim_log_updates_update_id ON vivim_log_updates (did_id, update_id);

CREATE TABLE vivim_log_commits (
    did_id bigint NOT NULL,
    from_seq bigint NOT NULL,
    to_seq bigint NOT NULL,
    json text NOT NULL,
    PRIMARY KEY (did_id, from_seq)
);

-- value: the document's tree value (SHA-256 of its canonical JSON); seq: the update that last wrote it.
CREATE TABLE vivim_documents (
    did_id bigint NOT NULL,
    path text COLLATE "C" NOT NULL,
    json text NOT NULL,
    value bytea NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (did_id, path)
);

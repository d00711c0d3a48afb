-- Spent nonces, one row each: registration nonces of an exit node (clone_id '') and signed-request nonces of its clones.
-- A spend is one keyed insert-if-absent; a row counts only until expires_at (Unix ms) and is then deleted by the
-- pruner in bounded batches, found through the expiry index. Deleting an exit node deletes its rows (a key prefix).
CREATE TABLE vivim_spent_nonces (
    exit_node_did TEXT NOT NULL,
    clone_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (exit_node_did, clone_id, nonce)
) STRICT;

CREATE INDEX vivim_spent_nonces_expiry ON vivim_spent_nonces (expires_at);

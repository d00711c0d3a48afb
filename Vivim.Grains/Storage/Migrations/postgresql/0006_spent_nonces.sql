-- Spent nonces, one row each: registration nonces of an exit node (clone_id '') and signed-request nonces of its clones.
-- A spend is one keyed insert-if-absent; a row counts only until expires_at (Unix ms) and is then deleted by the
-- pruners in bounded batches, found through the expiry index. Deleting an exit node deletes its rows (a key prefix).
-- Shared by every silo and gateway of the cluster, so a nonce spent through one is spent for all.
CREATE TABLE vivim_spent_nonces (
    exit_node_did text COLLATE "C" NOT NULL,
    clone_id text COLLATE "C" NOT NULL,
    nonce text COLLATE "C" NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (exit_node_did, clone_id, nonce)
);

CREATE INDEX vivim_spent_nonces_expiry ON vivim_spent_nonces (expires_at);

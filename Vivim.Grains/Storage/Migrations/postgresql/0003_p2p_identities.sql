-- Each gateway silo's libp2p identity (DESIGN §8): its Ed25519 seed sealed under the key-encryption key (AES-256-GCM,
-- bound to the silo name), one row per stable silo name (Vivim:SiloName), so a restarted silo keeps its peer id.
-- peer_id is public and only there for operators looking at the table.
CREATE TABLE vivim_p2p_identities (
    silo_name text COLLATE "C" PRIMARY KEY,
    peer_id text NOT NULL,
    kek_id text NOT NULL,
    nonce bytea NOT NULL,
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

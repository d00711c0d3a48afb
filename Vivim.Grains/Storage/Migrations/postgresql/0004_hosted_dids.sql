-- Every hosted exit node's DID across tenants, kept on create and delete: gateways page through it (in DID order,
-- an index range scan; "C" collation: byte order, the same on every server) to find the DIDs they serve on libp2p.
CREATE TABLE vivim_hosted_dids (
    did text COLLATE "C" PRIMARY KEY,
    tenant_id text NOT NULL
);

-- Exit nodes created before this table existed, listed from their grain state (a deleted exit node's record has no
-- payload). Their tenant sits inside the serialized state, out of SQL's reach; nothing decides anything by it.
INSERT INTO vivim_hosted_dids (did, tenant_id)
SELECT grain_id_extension, '' FROM vivim_grain_state
WHERE state_name = 'exitNode' AND payload IS NOT NULL AND grain_id_extension IS NOT NULL
ON CONFLICT (did) DO NOTHING;

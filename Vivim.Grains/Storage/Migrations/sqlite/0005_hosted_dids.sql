-- Every hosted exit node's DID across tenants, kept on create and delete: gateways page through it (in DID order,
-- a range scan of the key) to find the DIDs they serve on libp2p.
CREATE TABLE vivim_hosted_dids (
    did TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL
) STRICT, WITHOUT ROWID;

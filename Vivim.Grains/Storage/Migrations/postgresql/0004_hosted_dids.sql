-- Every hosted exit node's DID across tenants, kept on create and delete: gateways page through it (in DID order,
-- an index range scan; "C" collation: byte order, the same on every server) to find the DIDs they serve on libp2p.
CREATE TABLE vivim_hosted_dids (
    did text COLLATE "C" PRIMARY KEY,
    tenant_id text NOT NULL
);

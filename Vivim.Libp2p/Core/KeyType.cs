namespace Vivim.Libp2p.Core;

/// <summary>libp2p KeyType enum (keys.proto).</summary>
public enum KeyType
{
    Rsa = 0,
    Ed25519 = 1,
    Secp256k1 = 2,
    Ecdsa = 3,
}

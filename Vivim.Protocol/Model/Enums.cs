namespace Vivim.Protocol.Model;

// On the wire every enum is its lowercase (camelCase) name, as the SDK writes it.

[GenerateSerializer, Alias("vivim.TrustLevel")]
public enum TrustLevel
{
    Genesis,
    Bootstrap,
    Primary,
    Secondary,
    Unverified,
    Suspended,
}

[GenerateSerializer, Alias("vivim.UpdateType")]
public enum UpdateType
{
    Identity,
    Content,
    Social,
    Memory,
    Node,
    App,
}

[GenerateSerializer, Alias("vivim.UpdateOperation")]
public enum UpdateOperation
{
    Create,
    Update,
    Delete,
}

[GenerateSerializer, Alias("vivim.MigrationType")]
public enum MigrationType
{
    Fork,
    Mirror,
    Relay,
}

[GenerateSerializer, Alias("vivim.TrustProofType")]
public enum TrustProofType
{
    Attestation,
    Challenge,
    Migration,
}

[GenerateSerializer, Alias("vivim.PreferredNetwork")]
public enum PreferredNetwork
{
    Mainnet,
    Testnet,
    Local,
}

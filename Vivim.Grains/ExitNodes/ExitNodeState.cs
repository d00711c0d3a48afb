using Vivim.Clones;
using Vivim.Keys;
using Vivim.Protocol.Model;

namespace Vivim.ExitNodes;

/// <summary>What an exit node persists. The key is only ever held sealed here.</summary>
[GenerateSerializer, Alias("vivim.ExitNodeState")]
public sealed class ExitNodeState
{
    /// <summary>True once the anchor is bound and the first advertisement signed; before that a create may be retried.</summary>
    [Id(0)] public bool Created { get; set; }

    [Id(1)] public string TenantId { get; set; } = string.Empty;

    [Id(2)] public SealedKey? Key { get; set; }

    [Id(3)] public ExitNodePolicy Policy { get; set; } = new();

    [Id(4)] public List<string> DefaultPermissions { get; set; } = [];

    [Id(5)] public List<string> Capabilities { get; set; } = [];

    [Id(6)] public List<string> SupportedCloneVersions { get; set; } = [];

    [Id(7)] public ExitNodeEndpoints? Endpoints { get; set; }

    [Id(8)] public Dictionary<string, RegisteredClone> Clones { get; set; } = new(StringComparer.Ordinal);

    [Id(9)] public ExitNodeAdvertisement? Advertisement { get; set; }

    /// <summary>
    /// Spent registration nonces and when they were spent (ms), as states written before nonces had rows of their own
    /// (<see cref="Storage.ISpentNonces"/>) hold them. Read once at activation, carried over and emptied; never added to.
    /// </summary>
    [Id(10)] public Dictionary<string, long> SpentNonces { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where the owning gateway serves the node; null until a gateway took it on.</summary>
    [Id(11)] public ExitNodeNetwork? Network { get; set; }
}

/// <summary>The node's record of one clone; the Clone grain holds the sync side (cursor, sessions).</summary>
[GenerateSerializer, Alias("vivim.RegisteredClone")]
public sealed class RegisteredClone
{
    [Id(0)] public string CloneId { get; set; } = string.Empty;

    [Id(1)] public string Did { get; set; } = string.Empty;

    [Id(2)] public TrustLevel TrustLevel { get; set; }

    /// <summary>The level a suspended clone returns to when reinstated.</summary>
    [Id(3)] public TrustLevel? TrustBeforeSuspension { get; set; }

    [Id(4)] public List<string> Permissions { get; set; } = [];

    [Id(5)] public MigrationType MigrationType { get; set; }

    [Id(6)] public long RegisteredAt { get; set; }

    [Id(7)] public CloneLifecycle Status { get; set; }

    /// <summary>The latest signed trust statement about this clone (attestation, migration, suspension or reinstatement).</summary>
    [Id(8)] public TrustProof? LastProof { get; set; }

    /// <summary>The signed record of the last suspension, kept after a reinstatement.</summary>
    [Id(9)] public TrustProof? SuspensionProof { get; set; }
}

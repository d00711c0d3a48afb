namespace Vivim.ExitNodes;

/// <summary>
/// One thing that happened to an exit node's clones, for its owner's live view: a registration approved or denied
/// (with the SDK's reason), a clone suspended, reinstated, removed, deregistered or given other permissions.
/// </summary>
/// <param name="Id">Increasing over the node's life (microseconds of the wall clock, bumped when two coincide): a resume cursor.</param>
/// <param name="Kind">One of <see cref="NodeActivityKinds"/>.</param>
/// <param name="CloneId">Empty for a denied registration.</param>
/// <param name="CloneDid">The clone's DID (as the request named it, for a denial; at most 128 characters).</param>
/// <param name="Reason">The SDK's denial reason, or the owner's reason for a suspension or reinstatement; null otherwise.</param>
[GenerateSerializer, Immutable, Alias("vivim.NodeActivity")]
public sealed record NodeActivity(long Id, string Kind, string CloneId, string CloneDid, string? Reason, long AtMs, IReadOnlyList<string> Permissions);

/// <summary>The kinds of <see cref="NodeActivity"/>.</summary>
public static class NodeActivityKinds
{
    public const string RegistrationApproved = "registration-approved";
    public const string RegistrationDenied = "registration-denied";
    public const string CloneSuspended = "clone-suspended";
    public const string CloneReinstated = "clone-reinstated";
    public const string CloneRemoved = "clone-removed";
    public const string CloneDeregistered = "clone-deregistered";
    public const string ClonePermissionsChanged = "clone-permissions-changed";
}

/// <summary>Activities after a cursor, oldest first; <paramref name="LatestId"/> is the newest the node holds (0: none).</summary>
/// <param name="Truncated">The cursor is older than the oldest activity held: some were dropped in between.</param>
[GenerateSerializer, Immutable, Alias("vivim.NodeActivityPage")]
public sealed record NodeActivityPage(IReadOnlyList<NodeActivity> Items, long LatestId, bool Truncated);

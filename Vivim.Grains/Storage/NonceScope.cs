namespace Vivim.Storage;

/// <summary>
/// Whose nonces: an exit node's registrations (<see cref="CloneId"/> empty) or one of its clones' signed requests. Every
/// scope sits under its exit node, so deleting the node forgets all of them at once.
/// </summary>
public readonly record struct NonceScope(string ExitNodeDid, string CloneId)
{
    /// <summary>Nonces of registrations at <paramref name="exitNodeDid"/>.</summary>
    public static NonceScope Registrations(string exitNodeDid) => new(exitNodeDid, string.Empty);

    /// <summary>Nonces of requests signed by the clone <paramref name="cloneId"/> of <paramref name="exitNodeDid"/>.</summary>
    public static NonceScope Requests(string exitNodeDid, string cloneId) => new(exitNodeDid, cloneId);
}

namespace Vivim.Storage;

/// <summary>
/// Nonces already spent, one row each in the shared database, so that every grain activation and every gateway sees
/// them and a restart forgets none. A spend costs the same whatever the number of rows; rows past their expiry count as
/// absent and are deleted in bounded batches (<see cref="PruneAsync"/>), never on the spending path.
/// </summary>
public interface ISpentNonces
{
    /// <summary>Whether <paramref name="nonce"/> is spent in <paramref name="scope"/> and not yet expired at <paramref name="nowMs"/>.</summary>
    Task<bool> IsSpentAsync(NonceScope scope, string nonce, long nowMs, CancellationToken cancellationToken = default);

    /// <summary>
    /// Spends <paramref name="nonce"/> until <paramref name="expiresAtMs"/> if it is not spent already (atomically: of two
    /// concurrent spends, one wins). True when this call spent it.
    /// </summary>
    Task<bool> TrySpendAsync(NonceScope scope, string nonce, long nowMs, long expiresAtMs, CancellationToken cancellationToken = default);

    /// <summary>Records nonces spent elsewhere (an exit node's state from before this table) in one transaction; repeating it changes nothing.</summary>
    Task CarryOverAsync(NonceScope scope, IReadOnlyCollection<SpentNonce> nonces, CancellationToken cancellationToken = default);

    /// <summary>Deletes up to <paramref name="maxRows"/> rows expired before <paramref name="nowMs"/>; returns how many it deleted.</summary>
    Task<int> PruneAsync(long nowMs, int maxRows, CancellationToken cancellationToken = default);

    /// <summary>Forgets every nonce under <paramref name="exitNodeDid"/> (its registrations and its clones' requests).</summary>
    Task ForgetExitNodeAsync(string exitNodeDid, CancellationToken cancellationToken = default);
}

namespace Vivim.Storage;

/// <summary>The spent nonces of an in-process cluster (tests, a node without a database): shared by its silos.</summary>
public sealed class InMemoryNonceLedger : ISpentNonces
{
    private readonly Dictionary<(string ExitNode, string Clone, string Nonce), long> _expiries = [];

    /// <summary>Rows held, expired ones included until pruned.</summary>
    public int Count
    {
        get
        {
            lock (_expiries)
            {
                return _expiries.Count;
            }
        }
    }

    public Task<bool> IsSpentAsync(NonceScope scope, string nonce, long nowMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        lock (_expiries)
        {
            return Task.FromResult(_expiries.TryGetValue(Key(scope, nonce), out var expiresAt) && expiresAt >= nowMs);
        }
    }

    public Task<bool> TrySpendAsync(NonceScope scope, string nonce, long nowMs, long expiresAtMs, CancellationToken cancellationToken = default)
    {
        NonceRules.Validate(scope, nonce);
        lock (_expiries)
        {
            var key = Key(scope, nonce);
            if (_expiries.TryGetValue(key, out var expiresAt) && expiresAt >= nowMs)
            {
                return Task.FromResult(false);
            }

            _expiries[key] = expiresAtMs;
            return Task.FromResult(true);
        }
    }

    public Task CarryOverAsync(NonceScope scope, IReadOnlyCollection<SpentNonce> nonces, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nonces);
        lock (_expiries)
        {
            foreach (var spent in nonces)
            {
                NonceRules.Validate(scope, spent.Nonce);
                var key = Key(scope, spent.Nonce);
                _expiries[key] = Math.Max(_expiries.GetValueOrDefault(key, long.MinValue), spent.ExpiresAtMs);
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> PruneAsync(long nowMs, int maxRows, CancellationToken cancellationToken = default)
    {
        lock (_expiries)
        {
            var expired = _expiries.Where(p => p.Value < nowMs).Take(NonceRules.Limit(maxRows)).Select(p => p.Key).ToList();
            foreach (var key in expired)
            {
                _expiries.Remove(key);
            }

            return Task.FromResult(expired.Count);
        }
    }

    public Task ForgetExitNodeAsync(string exitNodeDid, CancellationToken cancellationToken = default)
    {
        lock (_expiries)
        {
            foreach (var key in _expiries.Keys.Where(k => string.Equals(k.ExitNode, exitNodeDid, StringComparison.Ordinal)).ToList())
            {
                _expiries.Remove(key);
            }
        }

        return Task.CompletedTask;
    }

    private static (string, string, string) Key(NonceScope scope, string nonce) => (scope.ExitNodeDid, scope.CloneId, nonce);
}

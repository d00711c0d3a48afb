namespace Vivim.Storage;

/// <summary>The hosted-DID directory of an in-process cluster (tests, a node without a database): shared by its silos.</summary>
public sealed class InMemoryHostedDidDirectory : IHostedDidDirectory
{
    private readonly SortedDictionary<string, string> _dids = new(StringComparer.Ordinal);

    public Task AddAsync(string did, string tenantId, CancellationToken cancellationToken = default)
    {
        HostedDidRules.Validate(did, tenantId);
        lock (_dids)
        {
            _dids[did] = tenantId;
        }

        return Task.CompletedTask;
    }

    public Task RemoveAsync(string did, CancellationToken cancellationToken = default)
    {
        lock (_dids)
        {
            _dids.Remove(did ?? string.Empty);
        }

        return Task.CompletedTask;
    }

    public Task<bool> ContainsAsync(string did, CancellationToken cancellationToken = default)
    {
        lock (_dids)
        {
            return Task.FromResult(_dids.ContainsKey(did ?? string.Empty));
        }
    }

    public Task<IReadOnlyList<string>> ListAsync(string? afterDid, int limit, CancellationToken cancellationToken = default)
    {
        limit = HostedDidRules.Limit(limit);
        lock (_dids)
        {
            IReadOnlyList<string> page = [.. _dids.Keys.Where(d => afterDid is null || string.CompareOrdinal(d, afterDid) > 0).Take(limit)];
            return Task.FromResult(page);
        }
    }
}

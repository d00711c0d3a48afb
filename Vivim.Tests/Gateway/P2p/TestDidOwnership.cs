using Vivim.Gateway.P2p.Ownership;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>An ownership a test decides: it acquires and releases DIDs and the change is raised as the real one raises it.</summary>
internal sealed class TestDidOwnership : IDidOwnership
{
    private readonly HashSet<string> _owned = new(StringComparer.Ordinal);

    public event EventHandler<DidOwnershipChange>? Changed;

    public IReadOnlyCollection<string> OwnedDids
    {
        get
        {
            lock (_owned)
            {
                return [.. _owned];
            }
        }
    }

    public bool Owns(string did)
    {
        lock (_owned)
        {
            return _owned.Contains(did);
        }
    }

    public void Acquire(params string[] dids)
    {
        lock (_owned)
        {
            _owned.UnionWith(dids);
        }

        Changed?.Invoke(this, new DidOwnershipChange(dids, []));
    }

    public void Release(params string[] dids)
    {
        lock (_owned)
        {
            _owned.ExceptWith(dids);
        }

        Changed?.Invoke(this, new DidOwnershipChange([], dids));
    }
}

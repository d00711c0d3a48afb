using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Support;

/// <summary>
/// A bare listener for tests: what an anchor pushed to it, in arrival order. It holds a lease only when the test
/// calls <see cref="ListenAsync"/> (no renewals), so a test decides exactly when it lapses.
/// </summary>
internal sealed class PushedEvents : IDidListener, IDisposable
{
    private readonly IClusterClient _client;
    private readonly List<DidEvent> _events = [];
    private readonly SemaphoreSlim _arrived = new(0, int.MaxValue);

    private PushedEvents(IClusterClient client)
    {
        _client = client;
        Reference = client.CreateObjectReference<IDidListener>(this);
    }

    public IDidListener Reference { get; }

    public static PushedEvents Create(IClusterClient client) => new(client);

    /// <summary>Starts or renews this listener's lease on <paramref name="anchor"/>.</summary>
    public Task<ListenerLease> ListenAsync(IAnchorStateGrain anchor) => anchor.ListenAsync(Reference);

    public IReadOnlyList<DidEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<CommittedBatch> Batches => [.. Events.OfType<CommittedBatch>()];

    public IReadOnlyList<long> Seqs => [.. Batches.SelectMany(b => b.Updates).Select(u => u.Seq!.Value)];

    /// <summary>Waits until an event matches; fails after <see cref="Until.Patience"/>.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match, string what)
        where T : DidEvent
    {
        var deadline = DateTime.UtcNow + Until.Patience;
        while (true)
        {
            if (Events.OfType<T>().FirstOrDefault(match) is { } found)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero && await _arrived.WaitAsync(left), $"{what} did not arrive within {Until.Patience.TotalSeconds:0} s");
        }
    }

    public Task WaitForSeqAsync(long seq) => WaitForAsync<CommittedBatch>(b => b.Updates.Any(u => u.Seq == seq), $"seq {seq}");

    public Task OnEventAsync(DidEvent didEvent)
    {
        lock (_events)
        {
            _events.Add(didEvent);
        }

        _arrived.Release();
        return Task.CompletedTask;
    }

    public void Dispose() => _client.DeleteObjectReference<IDidListener>(Reference);
}

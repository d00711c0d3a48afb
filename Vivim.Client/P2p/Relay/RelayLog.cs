using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.P2p.Relay;

/// <summary>
/// What a relay clone can re-serve: the last anchor-signed snapshot it took and the updates and commits it pulled,
/// each exactly as the parent signed them. Only what the relay's own replica has verified is served
/// (<see cref="Page"/> stops at the verified cursor); the oldest updates go beyond <see cref="MaxUpdates"/>, and a
/// peer behind them is told to take the snapshot again.
/// </summary>
public sealed class RelayLog(int maxUpdates = RelayLog.DefaultMaxUpdates)
{
    public const int DefaultMaxUpdates = 100_000;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, StateUpdate> _updates = [];
    private readonly SortedDictionary<long, Commit> _commitsByEnd = [];
    private StateSnapshot? _snapshot;

    public int MaxUpdates { get; } = maxUpdates > 0 ? maxUpdates : throw new ArgumentOutOfRangeException(nameof(maxUpdates));

    public StateSnapshot? Snapshot
    {
        get
        {
            lock (_lock)
            {
                return _snapshot;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _updates.Count;
            }
        }
    }

    /// <summary>A snapshot the relay took (at registration or a resync): served to peers that start or fell behind.</summary>
    public void RecordSnapshot(StateSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_lock)
        {
            if (_snapshot is null || (snapshot.Seq ?? 0) >= (_snapshot.Seq ?? 0))
            {
                _snapshot = snapshot;
            }
        }
    }

    /// <summary>A page the relay pulled, before its replica verified it (a page that fails is pulled, and recorded, again).</summary>
    public void RecordPage(UpdatePage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        lock (_lock)
        {
            foreach (var update in page.Updates)
            {
                if (update.Seq is { } seq)
                {
                    _updates[seq] = update;
                }
            }

            foreach (var commit in page.Commits)
            {
                _commitsByEnd[commit.ToSeq] = commit;
            }

            while (_updates.Count > MaxUpdates)
            {
                var oldest = _updates.Keys.First();
                _updates.Remove(oldest);
                foreach (var end in _commitsByEnd.Keys.TakeWhile(k => k <= oldest).ToList())
                {
                    _commitsByEnd.Remove(end);
                }
            }
        }
    }

    /// <summary>The commits the relay pulled that end after <paramref name="afterSeq"/> and at or before <paramref name="uptoSeq"/>, in order.</summary>
    public IReadOnlyList<Commit> CommitsEndingIn(long afterSeq, long uptoSeq)
    {
        lock (_lock)
        {
            return [.. _commitsByEnd.Where(c => c.Key > afterSeq && c.Key <= uptoSeq).Select(c => c.Value)];
        }
    }

    /// <summary>
    /// Updates after <paramref name="afterSeq"/> up to <paramref name="verifiedSeq"/> (the relay's replica cursor), at most
    /// <paramref name="limit"/>, with every commit overlapping them; <c>ResyncRequired</c> when the relay no longer (or never)
    /// held the next one and the peer should take the snapshot.
    /// </summary>
    public UpdatePage Page(long afterSeq, int limit, long verifiedSeq)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_lock)
        {
            if (afterSeq >= verifiedSeq)
            {
                return new UpdatePage([], [], verifiedSeq);
            }

            var updates = new List<StateUpdate>();
            for (var seq = afterSeq + 1; seq <= verifiedSeq && updates.Count < limit; seq++)
            {
                if (!_updates.TryGetValue(seq, out var update))
                {
                    break;
                }

                updates.Add(update);
            }

            if (updates.Count == 0)
            {
                return new UpdatePage([], [], verifiedSeq, ResyncRequired: true);
            }

            var first = updates[0].Seq!.Value;
            var last = updates[^1].Seq!.Value;
            var commits = _commitsByEnd.Values.Where(c => c.ToSeq >= first && c.FromSeq <= last).ToList();
            return new UpdatePage(updates, commits, verifiedSeq);
        }
    }
}

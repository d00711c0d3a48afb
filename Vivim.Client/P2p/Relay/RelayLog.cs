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
    // By seq. Every lookup walks seqs (a page's, or those a cursor just passed), so no range is ever scanned.
    private readonly Dictionary<long, StateUpdate> _updates = [];
    private readonly Dictionary<long, Commit> _commitsByEnd = [];
    private long _oldest = long.MaxValue;
    private long _newest;
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
                    _oldest = Math.Min(_oldest, seq);
                    _newest = Math.Max(_newest, seq);
                }
            }

            foreach (var commit in page.Commits)
            {
                _commitsByEnd[commit.ToSeq] = commit;
            }

            // The oldest go first; a commit goes with its last update (a part of one is no use to a peer).
            while (_updates.Count > MaxUpdates && _oldest <= _newest)
            {
                _updates.Remove(_oldest);
                _commitsByEnd.Remove(_oldest);
                _oldest++;
            }
        }
    }

    /// <summary>The commits the relay pulled that end after <paramref name="afterSeq"/> and at or before <paramref name="uptoSeq"/>, in order.</summary>
    public IReadOnlyList<Commit> CommitsEndingIn(long afterSeq, long uptoSeq)
    {
        lock (_lock)
        {
            var commits = new List<Commit>();
            for (var seq = Math.Max(afterSeq + 1, _oldest); seq <= Math.Min(uptoSeq, _newest); seq++)
            {
                if (_commitsByEnd.TryGetValue(seq, out var commit))
                {
                    commits.Add(commit);
                }
            }

            return commits;
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

            // Every commit overlapping the updates: those ending among them, and the one the last of them is inside.
            var commits = new List<Commit>();
            for (var seq = updates[0].Seq!.Value; seq <= _newest; seq++)
            {
                if (_commitsByEnd.TryGetValue(seq, out var commit))
                {
                    commits.Add(commit);
                    if (seq >= updates[^1].Seq!.Value)
                    {
                        break;
                    }
                }
            }

            return new UpdatePage(updates, commits, verifiedSeq);
        }
    }
}

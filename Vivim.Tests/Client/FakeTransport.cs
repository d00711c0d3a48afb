using Vivim.Client.Transports;
using Vivim.Feeds;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client;

/// <summary>Serves a <see cref="TestAnchor"/> to a clone, with hooks to tamper with what it serves.</summary>
internal sealed class FakeTransport(TestAnchor anchor) : ISyncTransport
{
    private ILiveSyncObserver? _observer;

    public StateSnapshot? SnapshotOverride { get; set; }

    /// <summary>Tampers with a page's records; the result is then sent as text (see <see cref="AsRecords"/>).</summary>
    public Func<UpdatePage, UpdatePage>? PageFilter { get; set; }

    /// <summary>Tampers with a page's update texts (seq, JSON) before they are parsed as a transport parses them.</summary>
    public Func<IReadOnlyList<StoredUpdate>, IReadOnlyList<StoredUpdate>>? TextFilter { get; set; }

    /// <summary>
    /// Hands the clone the records themselves. By default each update is written as JSON text and parsed back as the
    /// Orleans, HTTP and libp2p transports do, so the clone verifies what it received (its update hash comes from that
    /// JSON); with this set it has only records and hashes them back into JSON.
    /// </summary>
    public bool AsRecords { get; set; }

    public List<(long Seq, string StateHash)> Acks { get; } = [];

    public List<(long AfterSeq, int Limit)> PageRequests { get; } = [];

    /// <summary>Page requests (<c>page after 4</c>) and acknowledgements (<c>ack 6</c>) in the order they came.</summary>
    public List<string> Calls { get; } = [];

    public List<IReadOnlyList<string>> Submitted { get; } = [];

    public bool Subscribed => _observer is not null;

    public Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken) =>
        Task.FromResult(SnapshotOverride ?? anchor.Snapshot());

    public Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        lock (PageRequests)
        {
            PageRequests.Add((afterSeq, limit));
        }

        lock (Calls)
        {
            Calls.Add($"page after {afterSeq}");
        }

        var page = anchor.Page(afterSeq, limit);
        page = PageFilter is null ? page : PageFilter(page);
        if (AsRecords)
        {
            return Task.FromResult(page);
        }

        IReadOnlyList<StoredUpdate> texts = [.. page.Updates.Select(u => new StoredUpdate(u.Seq ?? 0, ProtocolModel.ToJson(u)))];
        texts = TextFilter is null ? texts : TextFilter(texts);
        return Task.FromResult(new StoredUpdatePage([.. texts], page.Commits, page.HeadSeq, page.ResyncRequired).Parse());
    }

    public Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) => Task.FromResult(anchor.Head);

    public Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken)
    {
        lock (Acks)
        {
            Acks.Add((seq, stateHash));
        }

        lock (Calls)
        {
            Calls.Add($"ack {seq}");
        }

        return Task.CompletedTask;
    }

    public Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken)
    {
        Submitted.Add(updatesJson);
        var batch = anchor.CommitJson(updatesJson);
        var receipts = batch.Updates.Select((u, i) => new UpdateReceipt(u.UpdateId, u.Seq!.Value, batch.Commit.Roots[i])).ToList();
        return Task.FromResult(new SubmitResult(SubmitOutcome.Committed, receipts, []));
    }

    public Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken)
    {
        _observer = observer;
        return Task.FromResult<ILiveSubscription>(new Subscription(this));
    }

    public ValueTask PushAsync(CommittedBatch batch) => _observer?.OnBatchAsync(batch) ?? ValueTask.CompletedTask;

    public ValueTask RevokeAsync(string reason) => _observer?.OnRevokedAsync(reason) ?? ValueTask.CompletedTask;

    private sealed class Subscription(FakeTransport owner) : ILiveSubscription
    {
        public int MaxInFlightBatches => 4;

        public ValueTask DisposeAsync()
        {
            owner._observer = null;
            return ValueTask.CompletedTask;
        }
    }
}

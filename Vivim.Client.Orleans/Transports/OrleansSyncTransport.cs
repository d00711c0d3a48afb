using Vivim.Clones;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Transports;

/// <summary>
/// A clone inside the cluster (tests, operator tools, gateway hubs): reads and writes through its
/// <see cref="ICloneGrain"/>, so trust and suspension apply, and listens to the DID's anchor while a
/// session is attached.
/// </summary>
public sealed class OrleansSyncTransport : ISyncTransport
{
    private readonly IClusterClient _client;
    private readonly ICloneGrain _clone;

    public OrleansSyncTransport(IClusterClient client, string cloneId)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(cloneId);
        _client = client;
        CloneId = cloneId;
        _clone = client.GetGrain<ICloneGrain>(cloneId);
    }

    public string CloneId { get; }

    public Task<StateSnapshot> GetSnapshotAsync(CancellationToken cancellationToken) =>
        Revocable(_clone.GetSnapshotAsync()).WaitAsync(cancellationToken);

    public Task<UpdatePage> GetUpdatesAsync(long afterSeq, int limit, CancellationToken cancellationToken) =>
        Revocable(ParseAsync(_clone.GetUpdatesAsync(afterSeq, limit))).WaitAsync(cancellationToken);

    public async Task<long> GetHeadSeqAsync(CancellationToken cancellationToken) =>
        (await Revocable(_clone.GetStatusAsync()).WaitAsync(cancellationToken).ConfigureAwait(false)).HeadSeq;

    public Task AcknowledgeAsync(long seq, string stateHash, CancellationToken cancellationToken) =>
        Revocable(_clone.AcknowledgeAsync(seq, stateHash)).WaitAsync(cancellationToken);

    public Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson, CancellationToken cancellationToken) =>
        Revocable(_clone.SubmitAsync(updatesJson)).WaitAsync(cancellationToken);

    public async Task<ILiveSubscription> SubscribeAsync(ILiveSyncObserver observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var sessionId = Guid.NewGuid().ToString("N");
        var grant = await Revocable(_clone.AttachSessionAsync(sessionId, observer: null)).WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var listener = await AnchorListener.SubscribeAsync(_client, grant.ParentDid, CloneId, observer).WaitAsync(cancellationToken).ConfigureAwait(false);
            return new Subscription(this, listener, sessionId, grant.MaxInFlightBatches);
        }
        catch
        {
            await _clone.DetachSessionAsync(sessionId).ConfigureAwait(false);
            throw;
        }
    }

    // A suspended or removed clone is refused by its grain; surface that as the revocation it is.
    // Pages cross the cluster as stored text; the client parses what it verifies and applies.
    private static async Task<UpdatePage> ParseAsync(Task<StoredUpdatePage> call) => (await call.ConfigureAwait(false)).Parse();

    private static async Task<T> Revocable<T>(Task<T> call)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (CloneAccessDeniedException e)
        {
            throw new CloneRevokedException(e.Message, e);
        }
    }

    private static async Task Revocable(Task call)
    {
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (CloneAccessDeniedException e)
        {
            throw new CloneRevokedException(e.Message, e);
        }
    }

    private sealed class Subscription(OrleansSyncTransport owner, AnchorListener listener, string sessionId, int maxInFlight) : ILiveSubscription
    {
        private int _disposed;

        public int MaxInFlightBatches { get; } = maxInFlight;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            try
            {
                await listener.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                // A revoked clone may be refused here too; the session is gone either way.
                try
                {
                    await owner._clone.DetachSessionAsync(sessionId).ConfigureAwait(false);
                }
                catch (CloneAccessDeniedException)
                {
                }
            }
        }
    }
}

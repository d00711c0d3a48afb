using Orleans.Streams;
using Vivim.Anchors;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Transports;

/// <summary>
/// Listens on a DID's anchor stream and forwards its events to an observer: committed batches as hints, and the
/// revocation of one clone. Ordering, gaps and duplicates are the observer's business. While subscribed it renews
/// the anchor's listener lease, without which the anchor stops publishing commits.
/// </summary>
public sealed class AnchorStreamListener : IAsyncDisposable
{
    private readonly StreamSubscriptionHandle<AnchorEvent> _handle;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _renewals;
    private int _disposed;

    private AnchorStreamListener(StreamSubscriptionHandle<AnchorEvent> handle, IAnchorStateGrain anchor, TimeSpan lease)
    {
        _handle = handle;
        _renewals = RenewAsync(anchor, lease, _stopping.Token);
    }

    /// <param name="cloneId">The clone whose revocation ends the session; null to ignore revocations.</param>
    public static async Task<AnchorStreamListener> SubscribeAsync(IClusterClient client, string did, string? cloneId, ILiveSyncObserver observer)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(observer);
        var stream = client.GetStreamProvider(AnchorStreams.Provider).GetStream<AnchorEvent>(StreamId.Create(AnchorStreams.Namespace, did));
        var handle = await stream.SubscribeAsync((item, _) => item switch
        {
            CommittedBatch batch => observer.OnBatchAsync(batch).AsTask(),
            CloneAccessRevoked revoked when cloneId is not null && string.Equals(revoked.CloneId, cloneId, StringComparison.Ordinal) => observer.OnRevokedAsync(revoked.Reason).AsTask(),
            _ => Task.CompletedTask,
        }).ConfigureAwait(false);

        var anchor = client.GetGrain<IAnchorStateGrain>(did);
        try
        {
            var lease = await anchor.ListenAsync().ConfigureAwait(false);
            return new AnchorStreamListener(handle, anchor, lease.Duration);
        }
        catch
        {
            await handle.UnsubscribeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Four renewals per lease: one lost call does not let the lease lapse.
    private static TimeSpan RenewalPeriod(TimeSpan lease) => TimeSpan.FromTicks(Math.Max(lease.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks));

    private static async Task RenewAsync(IAnchorStateGrain anchor, TimeSpan lease, CancellationToken stopping)
    {
        var period = RenewalPeriod(lease);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, stopping).ConfigureAwait(false);
                period = RenewalPeriod((await anchor.ListenAsync().WaitAsync(stopping).ConfigureAwait(false)).Duration);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A missed renewal only delays live delivery: the observer reconciles with the head and fills from the log.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _renewals.ConfigureAwait(false);
        _stopping.Dispose();
        await _handle.UnsubscribeAsync().ConfigureAwait(false);
    }
}

using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Gateway.P2p.Ownership;

/// <summary>
/// This gateway silo's share of the hosted DIDs: every hosted DID (from the directory, kept current by create and
/// delete notices and a periodic rescan) is hashed by rendezvous over the active gateway silos, recomputed on every
/// membership change. Starts when the silo becomes active; everything runs on one loop, so state needs no locks and
/// <see cref="Changed"/> is raised in order.
/// </summary>
public sealed partial class DidOwnership(
    GatewayMembership membership,
    IHostedDidDirectory directory,
    IClusterClient client,
    CallPrincipals principals,
    TimeProvider time,
    IOptions<DidOwnershipOptions> options,
    ILogger<DidOwnership> logger) : IDidOwnership, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private readonly DidOwnershipOptions _options = options.Value;
    private readonly Channel<Signal> _signals = Channel.CreateUnbounded<Signal>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, ulong> _hosted = new(StringComparer.Ordinal); // DID → rendezvous key; loop only
    private readonly CancellationTokenSource _stopping = new();
    private ImmutableHashSet<string> _owned = ImmutableHashSet.Create<string>(StringComparer.Ordinal);
    private ulong[] _seeds = [];
    private int _selfIndex = -1;
    private Task _loop = Task.CompletedTask;
    private StreamSubscriptionHandle<HostedDidChange>? _notices;

    public event EventHandler<DidOwnershipChange>? Changed;

    public IReadOnlyCollection<string> OwnedDids => Volatile.Read(ref _owned);

    /// <summary>The active gateway silos the DIDs are hashed over now (for logs and tests).</summary>
    public IReadOnlyList<SiloAddress> Gateways { get; private set; } = [];

    public bool Owns(string did) => did is not null && Volatile.Read(ref _owned).Contains(did);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DidOwnership), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    // Not disposing the token source: timers and the recheck may still read its token (it holds no timer of its own).
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        using (principals.Enter(CallPrincipal.Service))
        {
            _notices = await client.GetStreamProvider(DidStreams.Provider)
                .GetStream<HostedDidChange>(HostedDidStreams.All)
                .SubscribeAsync((change, _) => _signals.Writer.WriteAsync(new Signal.Hosted(change)).AsTask());
        }

        _signals.Writer.TryWrite(new Signal.Rescan());
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _ = WatchMembershipAsync(_stopping.Token);
        _ = RescanPeriodicallyAsync(_stopping.Token);
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        _signals.Writer.TryComplete();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_notices is { } notices)
        {
            try
            {
                using (principals.Enter(CallPrincipal.Service))
                {
                    await notices.UnsubscribeAsync();
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogUnsubscribeFailed(logger, e.Message); // the silo is going; its subscription goes with it
            }
        }

        // Leaving: nothing is served from here any more (the survivors take it on when membership says we left).
        var released = Interlocked.Exchange(ref _owned, _owned.Clear());
        if (released.Count > 0)
        {
            Changed?.Invoke(this, new DidOwnershipChange([], [.. released]));
        }
    }

    private async Task WatchMembershipAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var snapshot in membership.Updates.WithCancellation(cancellationToken))
            {
                await _signals.Writer.WriteAsync(new Signal.Membership(snapshot), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    private async Task RescanPeriodicallyAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.RescanInterval, time, cancellationToken);
                await _signals.Writer.WriteAsync(new Signal.Rescan(), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var recheckPending = false;
        await foreach (var signal in _signals.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                switch (signal)
                {
                    case Signal.Rescan:
                        await ReloadAsync(cancellationToken);
                        UpdateGateways(membership.CurrentSnapshot, ref recheckPending);
                        Reassign();
                        break;
                    case Signal.Membership m:
                        if (m.Snapshot is null)
                        {
                            recheckPending = false;
                        }

                        if (UpdateGateways(m.Snapshot ?? membership.CurrentSnapshot, ref recheckPending))
                        {
                            Reassign();
                        }

                        break;
                    case Signal.Hosted h:
                        OnHostedChange(h.Change);
                        break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A database hiccup must not end ownership: the next signal or rescan tries again.
                LogSignalFailed(logger, signal.GetType().Name, e);
            }
        }
    }

    /// <summary>Takes the gateway set of <paramref name="snapshot"/>; true when it changed.</summary>
    private bool UpdateGateways(ClusterMembershipSnapshot snapshot, ref bool recheckPending)
    {
        var gateways = membership.ActiveGateways(snapshot, out var undecided);
        if (undecided && !recheckPending)
        {
            // A joining silo's role arrives a little after its membership: look again shortly.
            recheckPending = true;
            _ = RecheckSoonAsync();
        }

        var seeds = gateways.Select(g => RendezvousHashing.SeedOf(GatewayMembership.IdentityOf(g))).ToArray();
        if (seeds.AsSpan().SequenceEqual(_seeds))
        {
            return false;
        }

        _seeds = seeds;
        _selfIndex = gateways.ToList().IndexOf(membership.Self);
        Gateways = gateways;
        LogGateways(logger, gateways.Count, _selfIndex >= 0);
        return true;
    }

    private async Task RecheckSoonAsync()
    {
        try
        {
            // Real time, like the membership protocol whose metadata exchange it waits for.
            await Task.Delay(_options.UndecidedRecheckInterval, TimeProvider.System, _stopping.Token);
            await _signals.Writer.WriteAsync(new Signal.Membership(null), _stopping.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException or ObjectDisposedException)
        {
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var did in directory.EnumerateAsync(cancellationToken))
        {
            fresh.Add(did);
        }

        foreach (var gone in _hosted.Keys.Where(d => !fresh.Contains(d)).ToList())
        {
            _hosted.Remove(gone);
        }

        foreach (var did in fresh)
        {
            if (!_hosted.ContainsKey(did))
            {
                _hosted[did] = RendezvousHashing.KeyOf(did);
            }
        }
    }

    private void OnHostedChange(HostedDidChange change)
    {
        if (string.IsNullOrEmpty(change.Did))
        {
            return;
        }

        if (change.Hosted)
        {
            _hosted[change.Did] = RendezvousHashing.KeyOf(change.Did);
        }
        else
        {
            _hosted.Remove(change.Did);
        }

        var mine = change.Hosted && _selfIndex >= 0 && RendezvousHashing.OwnerOf(_hosted[change.Did], _seeds) == _selfIndex;
        var owned = Volatile.Read(ref _owned);
        if (mine && !owned.Contains(change.Did))
        {
            Publish(owned.Add(change.Did), [change.Did], []);
        }
        else if (!mine && owned.Contains(change.Did))
        {
            Publish(owned.Remove(change.Did), [], [change.Did]);
        }
    }

    private void Reassign()
    {
        var owned = Volatile.Read(ref _owned);
        var next = ImmutableHashSet.CreateBuilder<string>(StringComparer.Ordinal);
        if (_selfIndex >= 0)
        {
            foreach (var (did, key) in _hosted)
            {
                if (RendezvousHashing.OwnerOf(key, _seeds) == _selfIndex)
                {
                    next.Add(did);
                }
            }
        }

        var acquired = next.Where(d => !owned.Contains(d)).ToList();
        var released = owned.Where(d => !next.Contains(d)).ToList();
        if (acquired.Count > 0 || released.Count > 0)
        {
            Publish(next.ToImmutable(), acquired, released);
        }
    }

    private void Publish(ImmutableHashSet<string> owned, IReadOnlyList<string> acquired, IReadOnlyList<string> released)
    {
        Volatile.Write(ref _owned, owned);
        LogChanged(logger, acquired.Count, released.Count, owned.Count);
        try
        {
            Changed?.Invoke(this, new DidOwnershipChange(acquired, released));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogHandlerFailed(logger, e);
        }
    }

    private abstract record Signal
    {
        public sealed record Rescan : Signal;

        /// <summary>A membership snapshot, or null: look at the current one again.</summary>
        public sealed record Membership(ClusterMembershipSnapshot? Snapshot) : Signal;

        public sealed record Hosted(HostedDidChange Change) : Signal;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "libp2p ownership: {Count} active gateway silos (this one among them: {Included})")]
    private static partial void LogGateways(ILogger logger, int count, bool included);

    [LoggerMessage(Level = LogLevel.Information, Message = "libp2p ownership: acquired {Acquired} DIDs, released {Released}; serving {Owned}")]
    private static partial void LogChanged(ILogger logger, int acquired, int released, int owned);

    [LoggerMessage(Level = LogLevel.Warning, Message = "libp2p ownership: handling {Signal} failed; the next change or rescan retries")]
    private static partial void LogSignalFailed(ILogger logger, string signal, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "libp2p ownership: a Changed handler threw")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "libp2p ownership: unsubscribing from hosted-DID notices failed: {Reason}")]
    private static partial void LogUnsubscribeFailed(ILogger logger, string reason);
}

using Vivim.Protocol.Discovery;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Vivim.ExitNodes;
using Vivim.Gateway.P2p.Ownership;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Model;
using Vivim.Security;
using Vivim.Telemetry;

namespace Vivim.Gateway.P2p.Discovery;

/// <summary>
/// Makes this gateway the libp2p face of the DIDs it owns: for each one it takes on, it has the exit node re-sign its
/// advertisement with this peer's id and announce addresses, then provides the DID's keys on the DHT (through the
/// paced <see cref="ProvideQueue"/>); it withdraws them when the DID moves away or is deleted, provides every key
/// again after <see cref="DiscoveryOptions.ReprovideInterval"/>, provides again whatever reached nobody as soon as the
/// routing table has peers, and re-signs when the announce addresses change.
/// </summary>
public sealed partial class DidAnnouncer : ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private readonly GatewayPeer _peer;
    private readonly IDidOwnership _ownership;
    private readonly IGrainFactory _grains;
    private readonly CallPrincipals _principals;
    private readonly GatewayPublicUrl _publicUrl;
    private readonly TimeProvider _time;
    private readonly DiscoveryOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<string> _acquired = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();

    // Under _gate: what each owned DID is announced under, and every key provided with when and whether it reached a peer.
    private readonly Dictionary<string, DidKeys> _dids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _capabilityUsers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProvidedKey> _keys = new(StringComparer.Ordinal);
    private ExitNodeNetwork? _network;
    private Task _loops = Task.CompletedTask;
    private int _started;

    public DidAnnouncer(
        GatewayPeer peer,
        IDidOwnership ownership,
        IGrainFactory grains,
        CallPrincipals principals,
        GatewayPublicUrl publicUrl,
        TimeProvider time,
        IOptions<DiscoveryOptions> options,
        ILogger<DidAnnouncer> logger)
    {
        _peer = peer;
        _ownership = ownership;
        _grains = grains;
        _principals = principals;
        _publicUrl = publicUrl;
        _time = time;
        _options = options.Value;
        _logger = logger;
        Queue = new ProvideQueue(ProvideAsync, _options.ProvidesPerSecond, _options.ProvideQueueCapacity, time, logger);
        Queue.Provided += OnProvided;
    }

    /// <summary>The paced queue of provides (tests watch it).</summary>
    public ProvideQueue Queue { get; }

    /// <summary>Raised when a DID's advertisement names this gateway and its keys are queued (tests, metrics).</summary>
    public event EventHandler<string>? Announced;

    /// <summary>The DIDs announced from here now.</summary>
    public IReadOnlyCollection<string> AnnouncedDids
    {
        get
        {
            lock (_gate)
            {
                return [.. _dids.Keys];
            }
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DidAnnouncer), ServiceLifecycleStage.Active, _ => { Start(); return Task.CompletedTask; }, _ => StopAsync());

    /// <summary>Starts following ownership (idempotent); the silo lifecycle calls it when the silo is active.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        _ownership.Changed += OnOwnershipChanged;
        _peer.Host.PeerIdentified += OnPeerIdentified;
        foreach (var did in _ownership.OwnedDids)
        {
            _acquired.Writer.TryWrite(did);
        }

        _loops = Task.WhenAll(
            Task.Run(() => AnnounceLoopAsync(_stopping.Token)),
            Task.Run(() => ReprovideLoopAsync(_stopping.Token)),
            Task.Run(() => AddressLoopAsync(_stopping.Token)));
    }

    // The container may dispose it twice (registered as itself and as a lifecycle participant): every step is idempotent.
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Queue.DisposeAsync();
    }

    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _ownership.Changed -= OnOwnershipChanged;
        _peer.Host.PeerIdentified -= OnPeerIdentified;
        await _stopping.CancelAsync();
        _acquired.Writer.TryComplete();
        await _loops.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void OnOwnershipChanged(object? sender, DidOwnershipChange change)
    {
        // Withdrawals at once (the new owner may already announce); acquisitions in order on the announce loop.
        foreach (var did in change.Released)
        {
            Withdraw(did);
        }

        foreach (var did in change.Acquired)
        {
            _acquired.Writer.TryWrite(did);
        }
    }

    private async Task AnnounceLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var did in _acquired.Reader.ReadAllAsync(cancellationToken))
            {
                await AnnounceAsync(did, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task AnnounceAsync(string did, CancellationToken cancellationToken)
    {
        if (!_ownership.Owns(did))
        {
            return;
        }

        ExitNodeAdvertisement advertisement;
        try
        {
            var network = CurrentNetwork();
            using (_principals.Enter(CallPrincipal.Service))
            {
                advertisement = await _grains.GetGrain<IExitNodeGrain>(did).SetNetworkAsync(network);
            }
        }
        catch (NotHostedException)
        {
            return; // deleted meanwhile; its notice releases it
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            // Still ours: try again later rather than leave the DID unannounced.
            LogAnnounceFailed(_logger, did, e.Message);
            _ = RetryLaterAsync(did, cancellationToken);
            return;
        }

        var keys = new List<byte[]>();
        lock (_gate)
        {
            if (!_ownership.Owns(did))
            {
                return; // moved away while the advertisement was signed; the new owner re-signs
            }

            if (_dids.Remove(did, out var previous))
            {
                Forget(previous);
            }

            var own = new DidKeys(DiscoveryKeys.ExitNode(did), DiscoveryKeys.SyncTopic(did), [.. advertisement.Capabilities.Distinct(StringComparer.Ordinal)]);
            _dids[did] = own;
            keys.Add(Track(own.ExitNode));
            keys.Add(Track(own.SyncTopic));
            foreach (var capability in own.Capabilities)
            {
                var users = _capabilityUsers.GetValueOrDefault(capability) + 1;
                _capabilityUsers[capability] = users;
                if (users == 1)
                {
                    keys.Add(Track(DiscoveryKeys.Capability(capability)));
                }
            }
        }

        foreach (var key in keys)
        {
            await Queue.EnqueueAsync(key, cancellationToken);
        }

        Announced?.Invoke(this, did);
    }

    private async Task RetryLaterAsync(string did, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(5), _time, cancellationToken);
            _acquired.Writer.TryWrite(did);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Withdraw(string did)
    {
        lock (_gate)
        {
            if (_dids.Remove(did, out var keys))
            {
                Forget(keys);
            }
        }
    }

    // Under _gate.
    private byte[] Track(byte[] key)
    {
        _keys[Convert.ToHexString(key)] = new ProvidedKey(key, DateTimeOffset.MinValue, Reached: true);
        return key;
    }

    // Under _gate: stops providing the DID's own keys and the capability keys no other DID still needs.
    private void Forget(DidKeys keys)
    {
        StopProviding(keys.ExitNode);
        StopProviding(keys.SyncTopic);
        foreach (var capability in keys.Capabilities)
        {
            var users = _capabilityUsers.GetValueOrDefault(capability) - 1;
            if (users > 0)
            {
                _capabilityUsers[capability] = users;
                continue;
            }

            _capabilityUsers.Remove(capability);
            StopProviding(DiscoveryKeys.Capability(capability));
        }
    }

    private void StopProviding(byte[] key)
    {
        _keys.Remove(Convert.ToHexString(key));
        Queue.Withdraw(key);
        _peer.Dht.StopProviding(key);
        _peer.Dht.Providers.Remove(key, _peer.PeerId); // so this gateway stops answering GET_PROVIDERS with itself
    }

    private Task<int> ProvideAsync(byte[] key, CancellationToken cancellationToken) => _peer.Dht.ProvideAsync(key, cancellationToken);

    private void OnProvided(object? sender, ProvideOutcome outcome)
    {
        VivimMetrics.DhtProvided(reachedPeers: outcome.Told > 0);
        var hex = Convert.ToHexString(outcome.Key);
        lock (_gate)
        {
            if (_keys.ContainsKey(hex))
            {
                _keys[hex] = new ProvidedKey(outcome.Key, _time.GetUtcNow(), outcome.Told > 0);
                return;
            }

            // Withdrawn while its provide was under way: undo what the provide registered.
            _peer.Dht.StopProviding(outcome.Key);
            _peer.Dht.Providers.Remove(outcome.Key, _peer.PeerId);
        }
    }

    private void OnPeerIdentified(object? sender, PeerIdentifiedEventArgs e)
    {
        if (_peer.Dht.RoutingTable.Count > 0)
        {
            _ = EnqueueWhereAsync(k => !k.Reached, _stopping.Token);
        }
    }

    /// <summary>Queues every tracked key that <paramref name="due"/> selects; a key already waiting is not queued twice.</summary>
    private async Task EnqueueWhereAsync(Func<ProvidedKey, bool> due, CancellationToken cancellationToken)
    {
        List<byte[]> keys;
        lock (_gate)
        {
            keys = [.. _keys.Values.Where(k => k.ProvidedAt != DateTimeOffset.MinValue && due(k)).Select(k => k.Key)];
        }

        try
        {
            foreach (var key in keys)
            {
                await Queue.EnqueueAsync(key, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    private async Task ReprovideLoopAsync(CancellationToken cancellationToken)
    {
        var check = _options.ReprovideInterval / 22;
        try
        {
            while (true)
            {
                await Task.Delay(check, _time, cancellationToken);
                var now = _time.GetUtcNow();
                await EnqueueWhereAsync(k => now - k.ProvidedAt >= _options.ReprovideInterval, cancellationToken);

                // A provide into an empty table reached nobody; peers may have come without identify telling us.
                if (_peer.Dht.RoutingTable.Count > 0)
                {
                    await EnqueueWhereAsync(k => !k.Reached, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task AddressLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.AddressCheckInterval, _time, cancellationToken);
                var previous = _network;
                var current = CurrentNetwork();
                if (previous is not null && !current.SameAs(previous))
                {
                    LogAddressesChanged(_logger, string.Join(' ', current.Multiaddrs));
                    foreach (var did in _ownership.OwnedDids)
                    {
                        await _acquired.Writer.WriteAsync(did, cancellationToken);
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    private ExitNodeNetwork CurrentNetwork()
    {
        var addresses = _peer.AnnounceAddresses.Select(a => a.ToString()).ToList();
        var network = new ExitNodeNetwork(_peer.PeerId.ToString(), addresses, _publicUrl.Value);
        _network = network;
        return network;
    }

    private sealed record DidKeys(byte[] ExitNode, byte[] SyncTopic, IReadOnlyList<string> Capabilities);

    private sealed record ProvidedKey(byte[] Key, DateTimeOffset ProvidedAt, bool Reached);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Announcing {Did} on libp2p failed, retrying: {Reason}")]
    private static partial void LogAnnounceFailed(ILogger logger, string did, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "libp2p announce addresses changed to {Addresses}: re-signing the advertisements served here")]
    private static partial void LogAddressesChanged(ILogger logger, string addresses);
}

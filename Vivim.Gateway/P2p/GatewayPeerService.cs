using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Vivim.Gateway.P2p.Identity;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Telemetry;

namespace Vivim.Gateway.P2p;

/// <summary>
/// Runs this gateway silo's libp2p peer: at start (after the silo, which is registered first) it opens the sealed
/// identity, builds the host with Kademlia in server mode and GossipSub, mounts every <see cref="IP2pProtocol"/>, listens,
/// and dials the bootstrap peers in the background; at shutdown it closes them in reverse. Other parts of the gateway
/// get the peer from <see cref="Peer"/> once started, or await <see cref="Started"/>.
/// </summary>
public sealed partial class GatewayPeerService(
    IOptions<P2pOptions> options,
    IPeerIdentityStore identities,
    IEnumerable<IP2pProtocol> protocols,
    ILoggerFactory loggers,
    IServiceProvider services) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan BootstrapDialTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan BootstrapRetry = TimeSpan.FromMinutes(1);

    private readonly TaskCompletionSource<GatewayPeer> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger = loggers.CreateLogger<GatewayPeerService>();
    private Task _bootstrap = Task.CompletedTask;
    private int _stopped;

    /// <summary>False when <c>Vivim:P2p:Enabled</c> is false: there is no peer, and <see cref="Started"/> never completes.</summary>
    public bool Enabled => options.Value.Enabled;

    /// <summary>The running peer, or null before start, after stop, or when disabled.</summary>
    public GatewayPeer? Peer { get; private set; }

    /// <summary>Completes with the peer once it listens and every protocol is mounted.</summary>
    public Task<GatewayPeer> Started => _started.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogDisabled(_logger);
            return;
        }

        var identity = await identities.LoadOrCreateAsync(cancellationToken);
        var builder = new Libp2pHostBuilder()
            .WithIdentity(identity)
            .WithAgentVersion("vivim-gateway/" + (typeof(GatewayPeerService).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"))
            .WithConnectionLimits(settings.MaxConnections, settings.MaxPendingInbound)
            .WithLogging(loggers)
            .WithTimeProvider(services.GetService<TimeProvider>() ?? TimeProvider.System);
        foreach (var listen in settings.Listen)
        {
            builder.ListenOn(listen);
        }

        foreach (var announce in settings.Announce)
        {
            builder.AnnounceOn(Multiaddr.Parse(announce));
        }

        var host = builder.Build();
        var dht = new KadDht(host, new KadOptions
        {
            ServerMode = true,
            // DidAnnouncer re-provides our keys, paced; the DHT's own republish would send them all at once.
            ProviderRepublishInterval = TimeSpan.Zero,
            // Two keys per hosted DID of our own plus what other peers store here.
            MaxProviderKeys = 1_000_000,
        });
        var pubsub = new GossipSub(host, new GossipSubOptions());
        var peer = new GatewayPeer(host, dht, pubsub);
        try
        {
            Mount(host);
            await ListenAsync(host, settings.Listen, cancellationToken);
        }
        catch
        {
            await CloseAsync(peer, CancellationToken.None);
            throw;
        }

        Peer = peer;
        VivimMetrics.ObservePeer(this, () => (host.ConnectionCount, dht.ProviderLookupsAnswered));
        LogListening(_logger, string.Join(", ", host.ListenAddresses.Select(a => a.WithPeerId(host.PeerId))), string.Join(", ", peer.AnnounceAddresses));
        _started.TrySetResult(peer);
        if (settings.Bootstrap.Count > 0)
        {
            _bootstrap = Task.Run(() => BootstrapAsync(peer, [.. settings.Bootstrap.Select(Multiaddr.Parse)], _stopping.Token), CancellationToken.None);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        try
        {
            await _bootstrap.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        if (Peer is { } peer)
        {
            VivimMetrics.ForgetPeer(this);
            Peer = null;
            await CloseAsync(peer, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    private void Mount(Libp2pHost host)
    {
        var builtIn = host.Protocols.ToHashSet(StringComparer.Ordinal);
        var mounted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var protocol in protocols)
        {
            if (builtIn.Contains(protocol.ProtocolId) || !mounted.Add(protocol.ProtocolId))
            {
                throw new InvalidOperationException($"Two libp2p handlers claim {protocol.ProtocolId}: {protocol.GetType().FullName} and another one.");
            }

            host.SetStreamHandler(protocol.ProtocolId, protocol.HandleAsync);
            VivimMetrics.DeclareP2pProtocol(protocol.ProtocolId);
        }

        VivimMetrics.DeclareGossip();
    }

    private static async Task ListenAsync(Libp2pHost host, IReadOnlyList<string> listen, CancellationToken cancellationToken)
    {
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // Taken between the check at build time and the bind: the same one line.
            var busy = listen.FirstOrDefault(a => Multiaddr.TryParse(a, out var m) && m!.ToTcpEndPoint() is { } ep && !Vivim.Hosting.ListenPorts.IsFree(ep.Address, ep.Port)) ?? listen[0];
            throw P2pListenAddresses.InUse(busy, Multiaddr.Parse(busy).ToTcpEndPoint()?.Port ?? 0);
        }
    }

    /// <summary>Dials every bootstrap peer and adds it to the routing table, then looks itself up to fill the table; retried while none answers.</summary>
    private async Task BootstrapAsync(GatewayPeer peer, IReadOnlyList<Multiaddr> bootstrap, CancellationToken stopping)
    {
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        try
        {
            while (true)
            {
                var reached = 0;
                foreach (var address in bootstrap)
                {
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                        timeout.CancelAfter(BootstrapDialTimeout);
                        var connection = await peer.Host.DialAsync(address, timeout.Token);
                        await peer.Dht.AddPeerAsync(new KadPeerInfo(connection.RemotePeer, [address.WithoutPeerId()]), timeout.Token);
                        reached++;
                    }
                    catch (Exception e) when (!stopping.IsCancellationRequested && e is Libp2pException or IOException or SocketException or OperationCanceledException)
                    {
                        LogBootstrapFailed(_logger, address.ToString(), e.Message);
                    }
                }

                if (reached > 0)
                {
                    await peer.Dht.GetClosestPeersAsync(peer.PeerId.ToByteArray(), stopping);
                    LogBootstrapped(_logger, reached, bootstrap.Count, peer.Dht.RoutingTable.Count);
                    return;
                }

                await Task.Delay(BootstrapRetry, time, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is Libp2pException or IOException or SocketException)
        {
            LogBootstrapLookupFailed(_logger, e.Message);
        }
    }

    private static async Task CloseAsync(GatewayPeer peer, CancellationToken cancellationToken)
    {
        await peer.Pubsub.DisposeAsync();
        peer.Dht.Dispose();
        try
        {
            await peer.Host.StopAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown's own deadline: the process is leaving either way.
        }

        peer.Host.Identity.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "libp2p listening on {Addresses} (announced as {Announce})")]
    private static partial void LogListening(ILogger logger, string addresses, string announce);

    [LoggerMessage(Level = LogLevel.Information, Message = "libp2p is disabled on this gateway (Vivim:P2p:Enabled=false)")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "libp2p bootstrap peer {Address} did not answer: {Reason}")]
    private static partial void LogBootstrapFailed(ILogger logger, string address, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "libp2p bootstrapped: {Reached} of {Total} bootstrap peers reached, {Known} peers in the DHT routing table")]
    private static partial void LogBootstrapped(ILogger logger, int reached, int total, int known);

    [LoggerMessage(Level = LogLevel.Warning, Message = "libp2p bootstrap lookup failed: {Reason}")]
    private static partial void LogBootstrapLookupFailed(ILogger logger, string reason);
}

using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;

namespace Vivim.Client.P2p;

/// <summary>
/// A clone's own libp2p node: its DID key is its peer identity (so a gateway knows which clone a stream is from), a
/// DHT client that finds exit nodes through the bootstrap peers, and GossipSub for commit notices. A relay clone also
/// listens and serves the DHT, so other clones can reach it.
/// </summary>
public sealed class CloneP2pNode : IAsyncDisposable
{
    private readonly List<Multiaddr> _bootstrap;
    private int _disposed;

    /// <param name="key">The clone's identity key; its seed becomes the peer identity.</param>
    /// <param name="bootstrap">Peers with their <c>/p2p/</c> suffix: a gateway's libp2p address, or any DHT server.</param>
    /// <param name="listen">Addresses to listen on; none for a clone that only dials out.</param>
    public CloneP2pNode(SigningKey key, IEnumerable<Multiaddr> bootstrap, IEnumerable<Multiaddr>? listen = null, bool dhtServer = false, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(bootstrap);
        _bootstrap = [.. bootstrap];
        foreach (var address in _bootstrap)
        {
            if (address.PeerId is null)
            {
                throw new ArgumentException($"A bootstrap address names its peer (…/p2p/<peer id>); '{address}' does not.", nameof(bootstrap));
            }
        }

        var builder = new Libp2pHostBuilder().WithIdentitySeed(key.ExportSeed()).WithAgentVersion("vivim-clone/1.0");
        if (timeProvider is not null)
        {
            builder.WithTimeProvider(timeProvider);
        }

        foreach (var address in listen ?? [])
        {
            builder.ListenOn(address);
        }

        Host = builder.Build();
        Dht = new KadDht(Host, new KadOptions { ServerMode = dhtServer });
        Pubsub = new GossipSub(Host);
    }

    public Libp2pHost Host { get; }

    public KadDht Dht { get; }

    public GossipSub Pubsub { get; }

    public IReadOnlyList<Multiaddr> Bootstrap => _bootstrap;

    /// <summary>Starts the host and connects to the bootstrap peers; at least one must answer.</summary>
    /// <exception cref="GatewayUnreachableException">No bootstrap peer could be reached.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await Host.StartAsync(cancellationToken).ConfigureAwait(false);
        await ConnectBootstrapAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Finds the exit node <paramref name="did"/> on the DHT and returns its verified advertisement with the gateway peer
    /// that serves it. Bootstrap peers that dropped out are dialled again first.
    /// </summary>
    /// <exception cref="ExitNodeNotFoundException">No provider answered with a verifying advertisement.</exception>
    public async Task<(ExitNodeAdvertisement Advertisement, Multiaddr Gateway)> FindExitNodeAsync(string did, CancellationToken cancellationToken = default)
    {
        if (_bootstrap.Any(b => Host.GetConnection(b.PeerId!) is null))
        {
            try
            {
                await ConnectBootstrapAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (GatewayUnreachableException) when (Dht.RoutingTable.Count > 0)
            {
                // The routing table still knows other peers to ask.
            }
        }

        return await P2pDiscovery.FindExitNodeAsync(Host, Dht, did, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Relay clones of <paramref name="did"/> on the DHT (providers of <c>/vivim/relay/&lt;did&gt;</c>), each address with its peer id.</summary>
    public async Task<IReadOnlyList<Multiaddr>> FindRelaysAsync(string did, CancellationToken cancellationToken = default)
    {
        var providers = await Dht.FindProvidersAsync(Protocol.Discovery.DiscoveryKeys.Relay(did), 20, cancellationToken).ConfigureAwait(false);
        return [.. providers.Where(p => p.Peer != Host.PeerId).SelectMany(p => p.Addresses.Select(a => a.WithPeerId(p.Peer)))];
    }

    private async Task ConnectBootstrapAsync(CancellationToken cancellationToken)
    {
        if (_bootstrap.Count == 0)
        {
            return;
        }

        var attempts = _bootstrap.Select(async address =>
        {
            try
            {
                await Host.DialAsync(address, cancellationToken).ConfigureAwait(false);

                // Into the routing table now rather than when identify reports its protocols: lookups start at once.
                await Dht.AddPeerAsync(new KadPeerInfo(address.PeerId!, [address.WithoutPeerId()]), cancellationToken).ConfigureAwait(false);
                return null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return $"{address}: {e.Message}";
            }
        }).ToList();
        var failures = (await Task.WhenAll(attempts).ConfigureAwait(false)).OfType<string>().ToList();
        if (failures.Count == _bootstrap.Count)
        {
            throw new GatewayUnreachableException(_bootstrap[0], new IOException($"No bootstrap peer answered: {string.Join("; ", failures)}"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Pubsub.DisposeAsync().ConfigureAwait(false);
        Dht.Dispose();
        await Host.DisposeAsync().ConfigureAwait(false);
    }
}

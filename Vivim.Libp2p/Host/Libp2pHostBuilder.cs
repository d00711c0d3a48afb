using Microsoft.Extensions.Logging;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Muxing.Yamux;

namespace Vivim.Libp2p.Host;

/// <summary>Fluent builder for <see cref="Libp2pHost"/>.</summary>
public sealed class Libp2pHostBuilder
{
    private Ed25519Identity? _identity;
    private readonly List<Multiaddr> _listen = [];
    private readonly List<Multiaddr> _announce = [];
    private readonly List<(string Protocol, StreamHandler Handler, int MaxInbound)> _handlers = [];
    private string _agent = "vivim-libp2p/0.1.0";
    private int _maxConnections = 256;
    private int _maxPending = 64;
    private TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(10);
    private YamuxOptions _yamux = new();
    private ILoggerFactory? _loggerFactory;
    private bool _autoIdentify = true;
    private TimeProvider _time = TimeProvider.System;

    /// <summary>Identity from a 32-byte Ed25519 seed (deterministic peer id).</summary>
    public Libp2pHostBuilder WithIdentitySeed(ReadOnlySpan<byte> seed)
    {
        _identity = Ed25519Identity.FromSeed(seed);
        return this;
    }

    public Libp2pHostBuilder WithIdentity(Ed25519Identity identity)
    {
        _identity = identity;
        return this;
    }

    public Libp2pHostBuilder ListenOn(string multiaddr) => ListenOn(Multiaddr.Parse(multiaddr));

    public Libp2pHostBuilder ListenOn(Multiaddr multiaddr)
    {
        _listen.Add(multiaddr);
        return this;
    }

    /// <summary>An address identify advertises instead of the listen addresses (see <see cref="Libp2pHostOptions.AnnounceAddresses"/>).</summary>
    public Libp2pHostBuilder AnnounceOn(Multiaddr multiaddr)
    {
        ArgumentNullException.ThrowIfNull(multiaddr);
        _announce.Add(multiaddr.WithoutPeerId());
        return this;
    }

    public Libp2pHostBuilder WithAgentVersion(string agent)
    {
        _agent = agent;
        return this;
    }

    public Libp2pHostBuilder WithStreamHandler(string protocol, StreamHandler handler, int maxInboundStreamsPerConnection = Libp2pHost.DefaultMaxInboundStreamsPerProtocol)
    {
        _handlers.Add((protocol, handler, maxInboundStreamsPerConnection));
        return this;
    }

    public Libp2pHostBuilder WithConnectionLimits(int maxConnections, int maxPendingInbound = 64)
    {
        _maxConnections = maxConnections;
        _maxPending = maxPendingInbound;
        return this;
    }

    public Libp2pHostBuilder WithHandshakeTimeout(TimeSpan timeout)
    {
        _handshakeTimeout = timeout;
        return this;
    }

    public Libp2pHostBuilder WithYamux(YamuxOptions options)
    {
        _yamux = options;
        return this;
    }

    public Libp2pHostBuilder WithLogging(ILoggerFactory factory)
    {
        _loggerFactory = factory;
        return this;
    }

    public Libp2pHostBuilder WithAutoIdentify(bool enabled)
    {
        _autoIdentify = enabled;
        return this;
    }

    /// <summary>The clock for every timeout, delay and timer of the host and its protocols (default: the system clock).</summary>
    public Libp2pHostBuilder WithTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        return this;
    }

    public Libp2pHost Build()
    {
        var host = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = _identity ?? Ed25519Identity.Generate(),
            ListenAddresses = [.. _listen],
            AnnounceAddresses = [.. _announce],
            AgentVersion = _agent,
            MaxConnections = _maxConnections,
            MaxPendingInbound = _maxPending,
            HandshakeTimeout = _handshakeTimeout,
            Yamux = _yamux,
            LoggerFactory = _loggerFactory,
            AutoIdentify = _autoIdentify,
            TimeProvider = _time,
        });
        foreach (var (p, h, max) in _handlers)
        {
            host.SetStreamHandler(p, h, max);
        }
        return host;
    }
}

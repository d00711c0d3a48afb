using Vivim.Libp2p.Host;

namespace Vivim.Gateway.P2p;

/// <summary>
/// A stream protocol the gateway's libp2p peer serves (the <c>/vivim/*</c> protocols). Every registered implementation
/// is mounted on the peer at start, so identify and <c>GET /v1/p2p</c> list exactly what is served.
/// </summary>
public interface IP2pProtocol
{
    /// <summary>The multistream-select protocol id, e.g. <c>/vivim/sync/1.0.0</c>.</summary>
    string ProtocolId { get; }

    /// <summary>Serves one inbound stream; the host disposes the stream when the task ends.</summary>
    Task HandleAsync(Libp2pStream stream, CancellationToken cancellationToken);
}

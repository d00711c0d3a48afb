using Vivim.Gateway.P2p;
using Vivim.Libp2p.Host;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>A test-only mounted protocol: echoes what the dialer sends until it half-closes.</summary>
internal sealed class EchoTestProtocol : IP2pProtocol
{
    public const string Id = "/vivim/test-echo/1.0.0";

    public string ProtocolId => Id;

    public async Task HandleAsync(Libp2pStream stream, CancellationToken cancellationToken)
    {
        await stream.CopyToAsync(stream, cancellationToken);
        await stream.CloseWriteAsync();
    }
}

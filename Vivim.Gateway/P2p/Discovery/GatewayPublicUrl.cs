using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Hosting;

namespace Vivim.Gateway.P2p.Discovery;

/// <summary>
/// This gateway's public HTTP base URL: <c>Vivim:Gateway:PublicUrl</c>, else the first address the server listens on
/// (known once it started), else empty (a silo without the HTTP API, as in tests of ownership alone).
/// </summary>
public sealed class GatewayPublicUrl(IOptions<GatewayOptions> options, IServiceProvider services)
{
    public string Value
    {
        get
        {
            if (options.Value.PublicUrl is { Length: > 0 } configured)
            {
                return configured.TrimEnd('/');
            }

            var listening = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
            return listening?.FirstOrDefault()?.TrimEnd('/') ?? string.Empty;
        }
    }
}

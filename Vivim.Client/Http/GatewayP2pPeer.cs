using System.Net;
using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;

namespace Vivim.Client.Http;

/// <summary>A gateway's libp2p peer as <c>GET /v1/p2p</c> describes it: what a clone may bootstrap from.</summary>
public sealed record GatewayP2pPeer(string PeerId, IReadOnlyList<string> Multiaddrs, IReadOnlyList<string> Protocols)
{
    /// <summary>The peer's addresses with its <c>/p2p/</c> suffix, ready to dial.</summary>
    public IReadOnlyList<Multiaddr> Dialable => [.. Multiaddrs.Select(a => Multiaddr.Parse(a).WithPeerId(Libp2p.Core.PeerId.Parse(PeerId)))];

    /// <exception cref="GatewayException">The gateway runs no libp2p peer (404) or refused.</exception>
    public static async Task<GatewayP2pPeer> GetAsync(Uri gateway, HttpClient? http = null, CancellationToken cancellationToken = default)
    {
        var client = http ?? new HttpClient();
        try
        {
            using var response = await client.GetAsync(new Uri(GatewayAddress.Normalize(gateway), "v1/p2p"), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
            }

            var json = await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
            return new GatewayP2pPeer(
                GatewayHttp.Text(json, "peerId") ?? throw new GatewayException(HttpStatusCode.BadGateway, "invalid-response", "GET /v1/p2p answered no peerId."),
                Strings(json, "multiaddrs"),
                Strings(json, "protocols"));
        }
        finally
        {
            if (http is null)
            {
                client.Dispose();
            }
        }
    }

    private static string[] Strings(JsonObject json, string member) =>
        json[member] is JsonArray items ? [.. items.Select(i => i is JsonValue v && v.TryGetValue<string>(out var text) ? text : string.Empty).Where(t => t.Length > 0)] : [];
}

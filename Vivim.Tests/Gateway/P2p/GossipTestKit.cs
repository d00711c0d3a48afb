using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>Exit nodes and owner writes over the fixture's HTTP API, for the gossip tests.</summary>
internal static class GossipTestKit
{
    public static async Task<(string ApiKey, string Did)> NewExitNodeAsync(GatewayFixture gateway)
    {
        var (_, apiKey) = await gateway.CreateTenantAsync("gossip");
        return (apiKey, await gateway.CreateExitNodeAsync(apiKey));
    }

    /// <summary>One owner write over HTTP of <paramref name="documents"/> documents (one commit); returns its last seq.</summary>
    public static Task<long> WriteAsync(GatewayFixture gateway, string apiKey, string did, int index, int documents = 1) =>
        GatewayTestKit.WriteAsync(gateway, apiKey, did, [.. Enumerable.Range(0, documents).Select(d => ($"memoryIndex/g/{index}-{d}", $$"""{"i":{{index}},"d":{{d}}}"""))]);
}

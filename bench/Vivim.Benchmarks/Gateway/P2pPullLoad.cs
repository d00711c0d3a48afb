using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Client.Http;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Protocols;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// A clone pulling the log over <c>/vivim/sync/1.0.0</c> next to the same clone pulling the same pages over HTTP
/// (<c>GET /v1/clones/{id}/updates</c>, RFC 9421-signed), from one in-process gateway on loopback. Usage:
/// <c>dotnet run -c Release -- p2p-pull [updates] [limit] [pullers] [rounds]</c>. Each round, <c>pullers</c>
/// concurrent pulls each read the whole log page by page; both sides parse every page into records, as a clone does.
/// The gateway's libp2p host is built here with the gateway's own <see cref="IP2pProtocol"/>s (until the gateway
/// hosts its peer itself).
/// </summary>
internal static class P2pPullLoad
{
    private const int WriteBatch = 500;

    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var updates = Arg(1, 10_000);
        var limit = Arg(2, 100);
        var pullers = Arg(3, 4);
        var rounds = Arg(4, 3);

        var data = Directory.CreateTempSubdirectory("vivim-p2p-pull-");
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        const string operatorKey = "bench-operator-key-0123456789abcdef";
        await using var app = GatewayApp.Create(
        [
            "--Vivim:Management:Urls=none", // no dashboard profiling every grain call: not the path measured
            "--urls", baseAddress.ToString(),
            $"--Vivim:DataPath={data.FullName}",
            $"--Vivim:SiloPort={FreePort()}",
            $"--Vivim:GatewayPort={FreePort()}",
            $"--Vivim:ClusterId=p2p-pull-{port}",
            $"--Vivim:OperatorKey={operatorKey}",
            $"--Vivim:ClusterSecret={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
            "--Vivim:RateLimits:PerAddressPerSecond=1000000",
            "--Vivim:RateLimits:PerDidPerSecond=1000000",
            "--Vivim:Tenants:UpdatesPerSecond=10000000",
            "--Vivim:Tenants:RequestsPerSecond=1000000",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        try
        {
            await MeasureAsync(app.Services, baseAddress, operatorKey, updates, limit, pullers, rounds);
        }
        finally
        {
            await app.StopAsync();
            data.Delete(recursive: true);
        }

        return 0;
    }

    private static async Task MeasureAsync(IServiceProvider services, Uri baseAddress, string operatorKey, int updates, int limit, int pullers, int rounds)
    {
        using var http = new HttpClient();
        using var operatorClient = new OperatorClient(baseAddress, operatorKey, http);
        var (_, apiKey) = await operatorClient.CreateTenantAsync("p2p-pull");
        using var tenant = new TenantClient(baseAddress, apiKey, http);
        var (did, _) = await tenant.CreateExitNodeAsync();
        for (var first = 0; first < updates; first += WriteBatch)
        {
            var batch = Enumerable.Range(first, Math.Min(WriteBatch, updates - first))
                .Select(i => new OwnerUpdate(UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/notes/{i}", RawJson.From(new JsonObject { ["text"] = $"note {i}" })))
                .ToList();
            await tenant.WriteAsync(did, batch);
        }

        using var key = SigningKey.Generate();
        using var exitNodes = new ExitNodeClient(baseAddress, http);
        var cloneId = (await exitNodes.RegisterCloneAsync(did, key)).CloneId;
        using var httpClone = new HttpSyncTransport(baseAddress, key, cloneId);

        var builder = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0");
        foreach (var protocol in services.GetServices<IP2pProtocol>())
        {
            builder.WithStreamHandler(protocol.ProtocolId, protocol.HandleAsync, maxInboundStreamsPerConnection: 1024);
        }

        await using var gatewayPeer = builder.Build();
        await gatewayPeer.StartAsync();
        await using var clonePeer = new Libp2pHostBuilder().WithIdentitySeed(key.ExportSeed()).Build();
        await clonePeer.StartAsync();
        var connection = await clonePeer.DialAsync($"{gatewayPeer.ListenAddresses[0]}/p2p/{gatewayPeer.PeerId}");

        async Task<int> PullHttpAsync()
        {
            var (after, pulled) = (0L, 0);
            while (true)
            {
                var page = await httpClone.GetUpdatesAsync(after, limit, CancellationToken.None);
                if (page.Updates.Count == 0)
                {
                    return pulled;
                }

                pulled += page.Updates.Count;
                after = page.Updates[^1].Seq!.Value;
            }
        }

        async Task<int> PullP2pAsync()
        {
            var (after, pulled) = (0L, 0);
            while (true)
            {
                var page = await P2pPageAsync(connection, cloneId, after, limit);
                if (page.Updates.Count == 0)
                {
                    return pulled;
                }

                pulled += page.Updates.Count;
                after = page.Updates[^1].Seq!.Value;
            }
        }

        // Warm up both paths (JIT, grain activations), then alternate so neither side always runs on a warmer process.
        await PullHttpAsync();
        await PullP2pAsync();
        double httpSeconds = 0, p2pSeconds = 0;
        long httpPulled = 0, p2pPulled = 0;
        for (var round = 0; round < rounds; round++)
        {
            var watch = Stopwatch.StartNew();
            httpPulled += (await Task.WhenAll(Enumerable.Range(0, pullers).Select(_ => PullHttpAsync()))).Sum();
            httpSeconds += watch.Elapsed.TotalSeconds;
            watch.Restart();
            p2pPulled += (await Task.WhenAll(Enumerable.Range(0, pullers).Select(_ => PullP2pAsync()))).Sum();
            p2pSeconds += watch.Elapsed.TotalSeconds;
        }

        if (httpPulled != p2pPulled || httpPulled != (long)updates * pullers * rounds)
        {
            throw new InvalidOperationException($"HTTP pulled {httpPulled} updates and libp2p {p2pPulled}; expected {updates} per pull.");
        }

        var httpRate = httpPulled / httpSeconds;
        var p2pRate = p2pPulled / p2pSeconds;
        Console.WriteLine($"p2p-pull: {updates:N0} updates, pages of {limit}, {pullers} concurrent pulls x {rounds} rounds, one DID, one clone");
        Console.WriteLine($"HTTP    GET /v1/clones/{{id}}/updates: {httpPulled:N0} updates in {httpSeconds:0.00} s = {httpRate:N0} updates/s");
        Console.WriteLine($"libp2p  /vivim/sync/1.0.0 updates:    {p2pPulled:N0} updates in {p2pSeconds:0.00} s = {p2pRate:N0} updates/s");
        Console.WriteLine($"libp2p / HTTP = {p2pRate / httpRate:0.00}x");
    }

    private static async Task<UpdatePage> P2pPageAsync(Connection connection, string cloneId, long after, int limit)
    {
        var request = Encoding.UTF8.GetBytes(new JsonObject { ["type"] = "updates", ["cloneId"] = cloneId, ["after"] = after, ["limit"] = limit }.ToJsonString());
        await using var stream = await connection.NewStreamAsync([SyncProtocol.Id]);
        await Varint.WriteLengthPrefixedAsync(stream, request, CancellationToken.None);
        await stream.CloseWriteAsync();
        var answer = await Varint.ReadLengthPrefixedAsync(stream, 4 * 1024 * 1024, CancellationToken.None)
            ?? throw new InvalidOperationException("The stream ended without an answer.");
        var json = ProtocolJson.ParseObject(answer, JsonLimits.Snapshot);
        if (json["error"] is JsonObject error)
        {
            throw new InvalidOperationException($"libp2p pull refused: {error.ToJsonString()}");
        }

        return new UpdatePage(
            [.. json["updates"]!.AsArray().Select(u => ProtocolModel.FromJsonObject<StateUpdate>(u!.AsObject()))],
            [.. json["commits"]!.AsArray().Select(c => ProtocolModel.FromJsonObject<Commit>(c!.AsObject()))],
            (long)json["headSeq"]!.GetValue<double>());
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

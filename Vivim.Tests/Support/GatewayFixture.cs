using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Vivim.ExitNodes;
using Vivim.Gateway.Hosting;
using Vivim.Protocol.Http;
using Vivim.Protocol.Identity;
using Vivim.Security;

namespace Vivim.Tests.Support;

/// <summary>
/// The all-in-one gateway in this process, on real Kestrel at a loopback port, with the embedded SQLite storage in a
/// temporary data directory: what <c>dotnet run --project Vivim.Gateway</c> runs, shared by a test collection.
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const string TestOperatorKey = "test-operator-key-0123456789abcdef";

    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "vivim-gateway-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Configuration added to <see cref="Arguments"/> (a fixture of its own with other limits).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>Composition added after the node's own (an in-memory telemetry exporter).</summary>
    public Action<WebApplicationBuilder>? Configure { get; init; }

    public string OperatorKey => TestOperatorKey;

    public string DataPath => _dataPath;

    public IServiceProvider Services => _app!.Services;

    /// <summary>The silo's grain factory, outside any request: calls need a principal (see <see cref="Principals"/>).</summary>
    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public CallPrincipals Principals => Services.GetRequiredService<CallPrincipals>();

    /// <summary>The HTTP helpers of a fixture pointed at a gateway running elsewhere (a process).</summary>
    public static GatewayFixture At(Uri baseAddress) => new() { BaseAddress = baseAddress };

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        _app = GatewayApp.Create([.. Arguments(BaseAddress, _dataPath, $"gateway-tests-{port}"), .. ExtraArguments], Configure);
        await _app.StartAsync();
    }

    /// <summary>The command line of a test gateway: its URL, data directory, free silo ports, the test secrets.</summary>
    public static string[] Arguments(Uri baseAddress, string dataPath, string clusterId) =>
    [
        "--urls", baseAddress.ToString(),
        $"--Vivim:DataPath={dataPath}",
        $"--Vivim:SiloPort={FreePort.Next()}",
        $"--Vivim:GatewayPort={FreePort.Next()}",
        "--Vivim:P2p:Listen:0=/ip4/127.0.0.1/tcp/0",
        $"--Vivim:ClusterId={clusterId}",
        $"--Vivim:OperatorKey={TestOperatorKey}",
        $"--Vivim:ClusterSecret={Convert.ToBase64String(ClusterFixture.TestClusterSecret)}",
        "--Logging:LogLevel:Default=Warning",

        // No management port (the embedded default, localhost:9464, would be shared by every test gateway).
        "--Vivim:Management:Urls=none",
    ];

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A client whose every response is checked against the OpenAPI document (<see cref="ContractCheckingHandler"/>).</summary>
    public HttpClient CreateClient(string? bearer = null)
    {
        var client = new HttpClient(new ContractCheckingHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    /// <summary>A new tenant through the API, with the operator key.</summary>
    public async Task<(string TenantId, string ApiKey)> CreateTenantAsync(string name = "test", JsonObject? quotas = null)
    {
        using var http = CreateClient(OperatorKey);
        var body = new JsonObject { ["name"] = name };
        if (quotas is not null)
        {
            body["quotas"] = quotas;
        }

        using var response = await http.PostAsync("/v1/tenants", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var json = JsonNode.Parse(text)!;
        return (json["tenantId"]!.GetValue<string>(), json["apiKey"]!.GetValue<string>());
    }

    /// <summary>A new exit node of a tenant (custodial key unless a seed is given); returns its DID.</summary>
    public async Task<string> CreateExitNodeAsync(string apiKey, JsonObject? body = null)
    {
        using var http = CreateClient(apiKey);
        using var response = await http.PostAsync("/v1/exit-nodes", Json(body ?? []));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["did"]!.GetValue<string>();
    }

    /// <summary>
    /// Waits until this gateway's libp2p peer has taken <paramref name="did"/> on (its advertisement names the peer):
    /// until then the exit node's record changes by itself once, when the advertisement is re-signed.
    /// </summary>
    public Task ServedOnLibp2pAsync(string did) => Until.TrueAsync(
        async () =>
        {
            using (Principals.Enter(CallPrincipal.Operator))
            {
                return !string.IsNullOrEmpty((await Grains.GetGrain<IExitNodeGrain>(did).GetAdvertisementAsync()).PeerId);
            }
        },
        () => $"the gateway's libp2p peer did not take {did} on");

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>A request signed by a clone's key as docs/api.md describes (RFC 9421 over the target exactly as sent).</summary>
    public HttpRequestMessage Signed(SigningKey key, HttpMethod method, string target, string? body = null, long? created = null, string? nonce = null)
    {
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var headers = HttpMessageSignature.Sign(key, method.Method, target, bytes, body is not null, created ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(), nonce);
        var request = new HttpRequestMessage(method, new Uri(BaseAddress, target));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation(HttpMessageSignature.ContentDigestHeader, headers.ContentDigest);
        }

        request.Headers.TryAddWithoutValidation(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
        request.Headers.TryAddWithoutValidation(HttpMessageSignature.SignatureHeader, headers.Signature);
        return request;
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}

using Vivim.Tests.Support;

namespace Vivim.Tests.Cli;

/// <summary>The error lines that need a real gateway: refused keys, a DID that names no exit node of the tenant, and the gateway's own problem detail.</summary>
[Collection(GatewayCollection.Name)]
public sealed class VivimGatewayErrorTests(GatewayFixture gateway) : IDisposable
{
    /// <summary>Well formed, but no exit node of any tenant.</summary>
    private const string UnknownDid = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    private readonly VivimSandbox _vivim = new();

    private string Gateway => gateway.BaseAddress.AbsoluteUri;

    public void Dispose() => _vivim.Dispose();

    [Fact]
    public async Task Get_on_a_did_of_no_exit_node_of_the_tenant_says_so_not_that_the_document_is_missing()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var otherTenantsNode = await gateway.CreateExitNodeAsync((await gateway.CreateTenantAsync()).ApiKey);

        foreach (var did in new[] { UnknownDid, otherTenantsNode })
        {
            var line = (await RunAsync("get", "--path", "memoryIndex/notes/1", "--node", did, "--api-key", apiKey))
                .AssertErrorLine(1, $"this tenant has no exit node {did} at {Gateway}", "vivim node list");
            Assert.DoesNotContain("document", line, StringComparison.Ordinal);
        }

        // A node of the tenant without the document: now it is the document that is missing.
        var own = await gateway.CreateExitNodeAsync(apiKey);
        (await RunAsync("get", "--path", "memoryIndex/notes/1", "--node", own, "--api-key", apiKey))
            .AssertErrorLine(1, $"exit node {own} has no document memoryIndex/notes/1", "vivim put");
    }

    [Fact]
    public async Task Put_on_a_did_of_no_exit_node_of_the_tenant_says_so()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();

        var line = (await RunAsync("put", "--path", "memoryIndex/notes/1", "--data", "{}", "--node", UnknownDid, "--api-key", apiKey))
            .AssertErrorLine(1, $"this tenant has no exit node {UnknownDid} at {Gateway}", "vivim node list");
        Assert.DoesNotContain("Not found.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_operator_key_names_the_gateway_that_refused_it_unlike_a_missing_one()
    {
        var refused = (await RunAsync("tenant", "create", "--name", "x", "--operator-key", "not-the-key"))
            .AssertErrorLine(1, $"the operator key was refused by {Gateway}", "operator.key");

        var missing = (await RunAsync("tenant", "create", "--name", "x")).AssertErrorLine(1, "no operator key found");
        Assert.NotEqual(refused, missing);
    }

    [Fact]
    public async Task A_refused_tenant_api_key_names_where_it_came_from_and_the_gateway()
    {
        (await RunAsync("node", "create", "--api-key", "not-a-key"))
            .AssertErrorLine(1, $"the tenant API key from --api-key was refused by {Gateway}", "vivim tenant create");
        (await RunAsync(new Dictionary<string, string> { ["VIVIM_API_KEY"] = "not-a-key" }, "node", "list"))
            .AssertErrorLine(1, $"the tenant API key from VIVIM_API_KEY was refused by {Gateway}");
    }

    [Fact]
    public async Task The_gateways_problem_detail_reaches_the_user()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync();
        var did = await gateway.CreateExitNodeAsync(apiKey);

        // The node exists, the clone does not: the gateway's own detail is the useful part.
        (await RunAsync("node", "suspend", "--node", did, "--clone", "no-such-clone", "--api-key", apiKey))
            .AssertErrorLine(1, "404", $"No clone no-such-clone at {did}");
    }

    private Task<VivimRun.Result> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    private Task<VivimRun.Result> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        _vivim.RunAsync(new Dictionary<string, string>(environment) { ["VIVIM_GATEWAY"] = Gateway }, args);
}

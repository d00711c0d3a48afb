using Vivim.Tests.Support;

namespace Vivim.Tests.Cli;

/// <summary>
/// The error lines a newcomer met (issue 13): each says what is wrong and what to do, in one line, with exit code 2
/// for a usage error and 1 for any other failure. These need no gateway; <see cref="VivimGatewayErrorTests"/> has the rest.
/// </summary>
public sealed class VivimErrorTests : IDisposable
{
    private const string WellFormedDid = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    private readonly VivimSandbox _vivim = new();

    public void Dispose() => _vivim.Dispose();

    [Fact]
    public async Task A_mistyped_command_is_named_with_the_closest_one_and_the_valid_ones()
    {
        var line = (await _vivim.RunAsync("nodee", "create")).AssertErrorLine(2, "'nodee'", "did you mean 'node'?", "identity, tenant, node, clone, put, get, demo");
        Assert.DoesNotContain("Required command", line, StringComparison.Ordinal);

        (await _vivim.RunAsync("node", "creat")).AssertErrorLine(2, "vivim node:", "'creat'", "did you mean 'create'?", "list");
        (await _vivim.RunAsync("node")).AssertErrorLine(2, "vivim node:", "create, list, advertise");
        (await _vivim.RunAsync("identity", "create", "--forse")).AssertErrorLine(2, "'--forse'", "did you mean '--force'?");
    }

    [Fact]
    public async Task An_option_value_of_the_wrong_type_says_what_the_option_expects()
    {
        (await _vivim.RunAsync("node", "create", "--max-clones", "many")).AssertErrorLine(2, "--max-clones", "integer", "'many'");
        (await _vivim.RunAsync("node", "create", "--max-clones")).AssertErrorLine(2, "--max-clones", "integer");
        (await _vivim.RunAsync("node", "policy", "--allow-migration", "maybe")).AssertErrorLine(2, "--allow-migration", "true or false", "'maybe'");
    }

    [Theory]
    [InlineData("get", "--path", "memoryIndex/notes/1")]
    [InlineData("put", "--path", "memoryIndex/notes/1", "--data", "{}")]
    [InlineData("node", "clones")]
    public async Task A_malformed_did_is_refused_before_any_call_saying_what_is_wrong_with_it(params string[] args)
    {
        // No gateway listens at the address: the DID must be checked locally, before anything is sent.
        var result = await _vivim.RunAsync([.. args, "--node", "did:key:z6MkX", "--api-key", "k", "--gateway", $"http://127.0.0.1:{FreePort.Next()}"]);

        result.AssertErrorLine(2, "--node 'did:key:z6MkX' is not a valid did:key", "multicodec", "vivim node list");
    }

    [Fact]
    public async Task A_missing_operator_key_says_where_it_was_looked_for_and_how_to_pass_one()
    {
        var result = await _vivim.RunAsync("tenant", "create", "--name", "x");

        result.AssertErrorLine(1, "no operator key found", "--operator-key", "VIVIM_OPERATOR_KEY", Path.Combine(_vivim.WorkingDirectory, "data", "operator.key"));
    }

    [Fact]
    public async Task An_unreachable_gateway_is_named_with_how_to_start_one_or_pass_another()
    {
        var gateway = $"http://127.0.0.1:{FreePort.Next()}/";

        (await _vivim.RunAsync("tenant", "create", "--name", "x", "--operator-key", "k", "--gateway", gateway))
            .AssertErrorLine(1, $"cannot reach the gateway at {gateway}", "dotnet run --project Vivim.Gateway", "--gateway");
        (await _vivim.RunAsync(new Dictionary<string, string> { ["VIVIM_GATEWAY"] = gateway }, "node", "create", "--api-key", "k"))
            .AssertErrorLine(1, $"cannot reach the gateway at {gateway}");
    }

    [Fact]
    public async Task A_gateway_address_that_is_not_an_http_url_says_so_for_the_option_and_the_variable()
    {
        (await _vivim.RunAsync("tenant", "create", "--name", "x", "--operator-key", "k", "--gateway", "localhost:8080"))
            .AssertErrorLine(2, "--gateway must be an http(s) URL such as http://localhost:8080", "'localhost:8080'");
        (await _vivim.RunAsync(new Dictionary<string, string> { ["VIVIM_GATEWAY"] = "localhost:8080" }, "tenant", "create", "--name", "x", "--operator-key", "k"))
            .AssertErrorLine(2, "VIVIM_GATEWAY must be an http(s) URL such as http://localhost:8080", "'localhost:8080'");
    }

    [Fact]
    public async Task Put_without_data_is_a_usage_error()
    {
        (await _vivim.RunAsync("put", "--path", "memoryIndex/notes/1", "--node", WellFormedDid, "--api-key", "k"))
            .AssertErrorLine(2, "--data is required", "--data '{\"text\":\"hello\"}'");
    }

    [Fact]
    public async Task Identity_create_over_an_existing_one_names_the_file_and_force()
    {
        Assert.Equal(0, (await _vivim.RunAsync("identity", "create")).ExitCode);

        (await _vivim.RunAsync("identity", "create")).AssertErrorLine(1, Path.Combine(_vivim.Home, "identity.key"), "--force");
        Assert.Equal(0, (await _vivim.RunAsync("identity", "create", "--force")).ExitCode);
    }
}

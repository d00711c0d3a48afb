using Vivim.Tests.Support;

namespace Vivim.Tests.Cli;

/// <summary>The <c>vivim</c> command against the real gateway: the demo, and an operator's and a clone's session at the prompt.</summary>
[Collection(GatewayCollection.Name)]
public sealed class VivimGatewayCommandTests(GatewayFixture gateway) : IDisposable
{
    private readonly VivimSandbox _vivim = new();

    public void Dispose() => _vivim.Dispose();

    [Fact]
    public async Task Demo_runs_the_complete_example_printing_every_event_and_exits_zero()
    {
        var result = await _vivim.RunAsync("demo", "--gateway", gateway.BaseAddress.ToString(), "--operator-key", gateway.OperatorKey);

        Assert.True(result.ExitCode == 0, result.ToString());
        var output = result.Stdout;
        foreach (var expected in new[]
        {
            "tenant t", "exit node did:key:z6Mk", "capabilities storage, memory, identity, content; policy maxClones 50, allowMigration True, requireVerification True",
            "snapshot as SDK 1.x checks it: v1 signature ok, v1 root (sha-256 of JSON.stringify(state)) ok",
            "snapshot as we check it: v2 proof ok, state tree reproduces rootV2 ok",
            "session:connected", "sync:started", "update:received seq=2 create memoryIndex/notes/1", "update:applied seq=2 memoryIndex/notes/1 success=true",
            "update:applied seq=3 contentManifest/posts/1 success=true", "sync:completed updatesApplied=2", "status:changed",
            "the clone's root equals the parent's", "deleted",
        })
        {
            Assert.True(output.Contains(expected, StringComparison.Ordinal), $"missing '{expected}' in\n{result}");
        }

        Assert.DoesNotContain("sync:failed", output, StringComparison.Ordinal);
        Assert.True(output.IndexOf("update:received seq=2", StringComparison.Ordinal) < output.IndexOf("update:applied seq=3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_operator_and_a_clone_work_from_the_prompt_with_the_operator_key_file()
    {
        // As 'dotnet run --project Vivim.Gateway' leaves it: data/operator.key under the current directory.
        Directory.CreateDirectory(Path.Combine(_vivim.WorkingDirectory, "data"));
        await File.WriteAllTextAsync(Path.Combine(_vivim.WorkingDirectory, "data", "operator.key"), gateway.OperatorKey + "\n");
        var environment = new Dictionary<string, string> { ["VIVIM_GATEWAY"] = gateway.BaseAddress.ToString() };

        var tenant = await RunAsync(environment, "tenant", "create", "--name", "prompt");
        Assert.True(tenant.ExitCode == 0, tenant.ToString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_vivim.Home, "tenant.json")));
        }


        var node = await RunAsync(environment, "node", "create", "--capability", "memory", "--capability", "content", "--max-clones", "5");
        Assert.True(node.ExitCode == 0, node.ToString());
        var did = node.Stdout.Trim();
        Assert.StartsWith("did:key:z6Mk", did, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(environment, "put", "--path", "memoryIndex/notes/1", "--data", """{"text":"one"}""")).ExitCode);
        var register = await RunAsync(environment, "clone", "register", "--node", did);
        Assert.True(register.ExitCode == 0, register.ToString());
        var cloneId = register.Stdout.Trim();
        Assert.Contains("v1 signature ok, v1 root ok, v2 proof ok, v2 root ok", register.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(environment, "put", "--path", "memoryIndex/notes/2", "--data", """{"text":"two"}""")).ExitCode);
        var sync = await RunAsync(environment, "clone", "sync", "--once");
        Assert.True(sync.ExitCode == 0, sync.ToString());
        Assert.Contains("update:applied seq=2 memoryIndex/notes/2 success=true", sync.Stdout, StringComparison.Ordinal);

        var fromClone = await RunAsync(environment, "get", "--path", "memoryIndex/notes/2", "--from-clone", cloneId);
        Assert.Equal("""{"text":"two"}""", fromClone.Stdout.Trim());
        var fromGateway = await RunAsync(environment, "get", "--path", "memoryIndex/notes/2");
        Assert.Equal("""{"text":"two"}""", fromGateway.Stdout.Trim());
        Assert.Contains("merkle proof verified", fromGateway.Stderr, StringComparison.Ordinal);

        var clones = await RunAsync(environment, "node", "clones");
        Assert.Contains(cloneId, clones.Stdout, StringComparison.Ordinal);
        var status = await RunAsync(environment, "clone", "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("local cursor", status.Stdout, StringComparison.Ordinal);

        var suspend = await RunAsync(environment, "node", "suspend", "--clone", cloneId, "--reason", "test");
        Assert.True(suspend.ExitCode == 0, suspend.ToString());
        var refused = await RunAsync(environment, "clone", "sync", "--once");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("refused this clone", refused.Stderr, StringComparison.Ordinal);

        var deleted = await RunAsync(environment, "tenant", "delete");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
    }

    private Task<VivimRun.Result> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args) => _vivim.RunAsync(environment, args);
}

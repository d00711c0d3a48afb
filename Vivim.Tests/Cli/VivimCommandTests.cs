namespace Vivim.Tests.Cli;

/// <summary>The <c>vivim</c> command's parsing, local state and error lines, as a user runs it (a process of the built dll).</summary>
public sealed class VivimCommandTests : IDisposable
{
    private readonly VivimSandbox _vivim = new();

    public void Dispose() => _vivim.Dispose();

    [Fact]
    public async Task Identity_create_writes_an_owner_only_key_and_show_prints_its_did()
    {
        var created = await _vivim.RunAsync("identity", "create");
        Assert.Equal(0, created.ExitCode);
        var did = created.Stdout.Trim();
        Assert.StartsWith("did:key:z6Mk", did, StringComparison.Ordinal);
        var keyFile = Path.Combine(_vivim.Home, "identity.key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }


        var shown = await _vivim.RunAsync("identity", "show");
        Assert.Equal(0, shown.ExitCode);
        Assert.Contains(did, shown.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "tenant", "create" }, 2, "vivim tenant create: --name is required (the tenant's name). (see 'vivim tenant create --help')")]
    [InlineData(new[] { "identity", "show" }, 1, "vivim identity show: No identity in")]
    [InlineData(new[] { "node", "clones" }, 1, "vivim node clones: No exit node: pass --node <did> or run 'vivim node create'.")]
    [InlineData(new[] { "put", "--path", "notes/1", "--data", "{}", "--node", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "--api-key", "k" }, 2, "vivim put: --path 'notes/1' is not under a state category")]
    [InlineData(new[] { "put", "--path", "memoryIndex/1", "--data", "{nope", "--node", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "--api-key", "k" }, 2, "vivim put: --data is not valid JSON")]
    [InlineData(new[] { "put", "--path", "memoryIndex/1", "--data", "{}", "--operation", "upsert" }, 2, "vivim put: --operation must be create, update or delete, not 'upsert'.")]
    [InlineData(new[] { "clone", "register", "--node", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "--migration", "move" }, 2, "vivim clone register: --migration must be mirror, relay or fork, not 'move'.")]
    [InlineData(new[] { "clone", "status" }, 1, "vivim clone status: No identity in")]
    [InlineData(new[] { "demo", "--timeout", "0" }, 2, "vivim demo: --timeout must be between 1 and 3600 seconds, not 0.")]
    public async Task Errors_are_one_line_on_stderr_with_a_non_zero_exit_code(string[] args, int exitCode, string line)
    {
        var result = await _vivim.RunAsync(args);

        Assert.StartsWith(line, result.AssertErrorLine(exitCode), StringComparison.Ordinal);
    }
}

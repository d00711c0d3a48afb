namespace Vivim.Tests.Cli;

/// <summary>The <c>vivim</c> command's parsing, local state and error lines, as a user runs it (a process of the built dll).</summary>
public sealed class VivimCommandTests : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("vivim-home-");
    private readonly DirectoryInfo _cwd = Directory.CreateTempSubdirectory("vivim-cwd-");

    public void Dispose()
    {
        _home.Delete(recursive: true);
        _cwd.Delete(recursive: true);
    }

    [Fact]
    public async Task Identity_create_writes_an_owner_only_key_and_show_prints_its_did()
    {
        var created = await RunAsync("identity", "create");
        Assert.Equal(0, created.ExitCode);
        var did = created.Stdout.Trim();
        Assert.StartsWith("did:key:z6Mk", did, StringComparison.Ordinal);
        var keyFile = Path.Combine(_home.FullName, "identity.key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }


        var shown = await RunAsync("identity", "show");
        Assert.Equal(0, shown.ExitCode);
        Assert.Contains(did, shown.Stdout, StringComparison.Ordinal);

        var again = await RunAsync("identity", "create");
        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"vivim identity create: {keyFile} already exists.", again.Stderr.Trim());
    }

    [Theory]
    [InlineData(new[] { "tenant", "create" }, 2, "vivim: Option '--name' is required. (see 'vivim --help')")]
    [InlineData(new[] { "identity", "show" }, 1, "vivim identity show: No identity in")]
    [InlineData(new[] { "tenant", "create", "--name", "x" }, 1, "vivim tenant create: No operator key: pass --operator-key, set VIVIM_OPERATOR_KEY, or run from the directory holding data/operator.key.")]
    [InlineData(new[] { "node", "clones" }, 1, "vivim node clones: No exit node: pass --node <did> or run 'vivim node create'.")]
    [InlineData(new[] { "put", "--path", "notes/1", "--data", "{}", "--node", "did:key:z6MkX", "--api-key", "k" }, 1, "vivim put: 'notes/1' is not under a state category")]
    [InlineData(new[] { "clone", "status" }, 1, "vivim clone status: No identity in")]
    [InlineData(new[] { "tenant", "create", "--name", "x", "--operator-key", "k", "--gateway", "http://127.0.0.1:9" }, 1, "vivim tenant create: cannot reach the gateway:")]
    [InlineData(new[] { "tenant", "create", "--name", "x", "--operator-key", "k", "--gateway", "not a url" }, 1, "vivim tenant create: The gateway address 'not a url' is not an absolute URL.")]
    public async Task Errors_are_one_line_on_stderr_with_a_non_zero_exit_code(string[] args, int exitCode, string line)
    {
        var result = await RunAsync(args);

        Assert.Equal(exitCode, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, result.ToString());
        Assert.StartsWith(line, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal); // no stack trace
    }

    private Task<VivimRun.Result> RunAsync(params string[] args) => VivimRun.RunAsync(_home.FullName, _cwd.FullName, null, args);
}

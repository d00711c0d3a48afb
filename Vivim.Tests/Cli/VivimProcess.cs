using System.Diagnostics;
using System.Text.Json.Nodes;
using Vivim.Tests.Support;

namespace Vivim.Tests.Cli;

/// <summary>Runs the built <c>vivim.dll</c> (<c>dotnet vivim.dll p2p node …</c>) as a real process and talks JSON lines to it.</summary>
public sealed class VivimProcess : IAsyncDisposable
{
    private readonly JsonLinesProcess _process;

    private VivimProcess(JsonLinesProcess process)
    {
        _process = process;
        PeerId = process.Ready["peerId"]!.GetValue<string>();
        Addrs = [.. process.Ready["addrs"]!.AsArray().Select(a => a!.GetValue<string>())];
    }

    public string PeerId { get; }

    public IReadOnlyList<string> Addrs { get; }

    public string Dialable => Addrs[0] + "/p2p/" + PeerId;

    public bool HasExited => _process.HasExited;

    public Task Exited => _process.Exited;

    public IReadOnlyList<JsonObject> Events => _process.Events;

    public string Stderr => _process.Stderr;

    /// <summary>Vivim.Cli's own build output (same configuration as the tests), so that its deps.json resolves.</summary>
    public static string DllPath
    {
        get
        {
            var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // …/Vivim.Tests/bin/<cfg>/<tfm>
            var path = Repository.PathOf("Vivim.Cli", "bin", testBin.Parent!.Name, testBin.Name, "vivim.dll");
            Assert.True(File.Exists(path), $"'{path}' is missing: build Vivim.sln (Vivim.Tests references Vivim.Cli)");
            return path;
        }
    }

    public static async Task<VivimProcess> StartAsync(CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(DllPath);
        start.ArgumentList.Add("p2p");
        start.ArgumentList.Add("node");
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // The command promises one JSON object per stdout line: anything else fails the test.
        return new VivimProcess(await JsonLinesProcess.StartAsync(start, "vivim", "listening", strictStdout: true, ct));
    }

    public Task<JsonObject> WaitEventAsync(Func<JsonObject, bool> match, CancellationToken ct) => _process.WaitEventAsync(match, ct);

    public Task SendLineAsync(string line, CancellationToken ct) => _process.SendLineAsync(line, ct);

    public Task<JsonObject> TryCommandAsync(JsonObject cmd, CancellationToken ct) => _process.TryCommandAsync(cmd, ct);

    public Task<JsonObject> CommandAsync(JsonObject cmd, CancellationToken ct) => _process.CommandAsync(cmd, ct);

    /// <summary>Sends SIGTERM (via kill(1)) and returns the exit code once the process has stopped.</summary>
    public async Task<int> TerminateAsync(CancellationToken ct)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(ct);
        }

        return await _process.WaitForExitAsync(ct);
    }

    /// <summary>Closes stdin (EOF) and returns the exit code once the process has stopped.</summary>
    public Task<int> StopAsync(CancellationToken ct) => _process.StopAsync(ct);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

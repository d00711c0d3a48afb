using System.Diagnostics;
using System.Text.Json.Nodes;
using Vivim.Tests.Support;

namespace Vivim.Tests.Libp2p;

/// <summary>Runs interop/libp2p/peer.mjs (real js-libp2p 3.x) and talks to it with JSON lines.</summary>
public sealed class JsPeer : IAsyncDisposable
{
    private readonly JsonLinesProcess _process;

    private JsPeer(JsonLinesProcess process)
    {
        _process = process;
        PeerId = process.Ready["peerId"]!.GetValue<string>();
        Addrs = [.. process.Ready["addrs"]!.AsArray().Select(a => a!.GetValue<string>())];
    }

    public string PeerId { get; }

    public IReadOnlyList<string> Addrs { get; }

    public IReadOnlyList<JsonObject> Events => _process.Events;

    public string Stderr => _process.Stderr;

    public static string InteropDir => Repository.PathOf("interop", "libp2p");

    /// <summary>Fails (never skips) when the npm dependencies are missing.</summary>
    public static void EnsureInstalled()
    {
        var nm = Path.Combine(InteropDir, "node_modules", "libp2p");
        Assert.True(Directory.Exists(nm),
            $"js-libp2p is not installed: '{nm}' is missing. Run `npm ci --prefix interop/libp2p` (i.e. `npm ci` in {InteropDir}) before running the libp2p interop tests.");
    }

    public static async Task<JsPeer> StartAsync(CancellationToken ct, string script = "peer.mjs", params string[] args)
    {
        EnsureInstalled();
        var start = new ProcessStartInfo("node") { WorkingDirectory = InteropDir };
        start.ArgumentList.Add("--import");
        start.ArgumentList.Add("./polyfill.mjs");
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // js libraries may print to stdout now and then: lines that are not JSON are ignored.
        return new JsPeer(await JsonLinesProcess.StartAsync(start, "js peer", "ready", strictStdout: false, ct));
    }

    /// <summary>Sends a command; throws with the js error text when it reports ok=false.</summary>
    public Task<JsonObject> CommandAsync(JsonObject cmd, CancellationToken ct) => _process.CommandAsync(cmd, ct);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

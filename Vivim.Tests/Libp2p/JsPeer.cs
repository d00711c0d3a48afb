using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vivim.Tests.Libp2p;

/// <summary>Runs interop/libp2p/peer.mjs (real js-libp2p 3.x) and talks to it with JSON lines.</summary>
public sealed class JsPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly ConcurrentQueue<JsonObject> _events = new();
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly TaskCompletionSource<JsonObject> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    private JsPeer(Process p)
    {
        _process = p;
    }

    public string PeerId { get; private set; } = "";

    public IReadOnlyList<string> Addrs { get; private set; } = [];

    public IEnumerable<JsonObject> Events => _events;

    public static string InteropDir
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Vivim.sln")))
            {
                dir = dir.Parent;
            }
            if (dir is null)
            {
                throw new InvalidOperationException("cannot find the repository root (Vivim.sln) above " + AppContext.BaseDirectory);
            }
            return Path.Combine(dir.FullName, "interop", "libp2p");
        }
    }

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
        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = InteropDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--import");
        psi.ArgumentList.Add("./polyfill.mjs");
        psi.ArgumentList.Add(script);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException("failed to start node");
        var peer = new JsPeer(p);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (peer._stderr)
                {
                    if (peer._stderr.Length < 64 * 1024)
                    {
                        peer._stderr.AppendLine(e.Data);
                    }
                }
            }
        };
        p.BeginErrorReadLine();
        _ = Task.Run(peer.ReadLoopAsync, CancellationToken.None);
        JsonObject ready;
        try
        {
            ready = await peer._ready.Task.WaitAsync(ct);
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
        peer.PeerId = ready["peerId"]!.GetValue<string>();
        peer.Addrs = [.. ready["addrs"]!.AsArray().Select(a => a!.GetValue<string>())];
        return peer;
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                JsonObject? o;
                try
                {
                    o = JsonNode.Parse(line) as JsonObject;
                }
                catch (JsonException)
                {
                    continue;
                }
                if (o is null)
                {
                    continue;
                }
                if (o["event"]?.GetValue<string>() == "ready")
                {
                    _ready.TrySetResult(o);
                }
                else if (o["id"] is { } idNode && _pending.TryRemove(idNode.GetValue<int>(), out var tcs))
                {
                    tcs.TrySetResult(o);
                }
                else
                {
                    _events.Enqueue(o);
                }
            }
        }
        finally
        {
            var ex = new InvalidOperationException("js peer exited. stderr:\n" + Stderr);
            _ready.TrySetException(ex);
            foreach (var t in _pending.Values)
            {
                t.TrySetException(ex);
            }
        }
    }

    /// <summary>Sends a command; throws with the js error text when it reports ok=false.</summary>
    public async Task<JsonObject> CommandAsync(JsonObject cmd, CancellationToken ct)
    {
        var id = Interlocked.Increment(ref _nextId);
        cmd["id"] = id;
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        await _process.StandardInput.WriteLineAsync(cmd.ToJsonString().AsMemory(), ct);
        await _process.StandardInput.FlushAsync(ct);
        var reply = await tcs.Task.WaitAsync(ct);
        if (reply["ok"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"js command {cmd["cmd"]} failed: {reply["error"]}\nstderr:\n{Stderr}");
        }
        return reply;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}

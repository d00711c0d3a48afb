using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vivim.Tests.Cli;

/// <summary>Runs the built <c>vivim.dll</c> (<c>dotnet vivim.dll p2p node …</c>) as a real process and talks JSON lines to it.</summary>
public sealed class VivimProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly List<JsonObject> _events = [];
    private readonly Lock _gate = new();
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly TaskCompletionSource<JsonObject> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    private VivimProcess(Process p) => _process = p;

    public string PeerId { get; private set; } = "";

    public IReadOnlyList<string> Addrs { get; private set; } = [];

    public string Dialable => Addrs[0] + "/p2p/" + PeerId;

    public bool HasExited => _process.HasExited;

    public Task Exited => _exited.Task;

    /// <summary>Vivim.Cli's own build output (same configuration as the tests), so that its deps.json resolves.</summary>
    public static string DllPath
    {
        get
        {
            var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // …/Vivim.Tests/bin/<cfg>/<tfm>
            var tfm = testBin.Name;
            var cfg = testBin.Parent!.Name;
            var root = testBin.Parent.Parent!.Parent!.Parent!.FullName;
            var path = Path.Combine(root, "Vivim.Cli", "bin", cfg, tfm, "vivim.dll");
            Assert.True(File.Exists(path), $"'{path}' is missing: build Vivim.sln (Vivim.Tests references Vivim.Cli)");
            return path;
        }
    }

    public static async Task<VivimProcess> StartAsync(CancellationToken ct, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(DllPath);
        psi.ArgumentList.Add("p2p");
        psi.ArgumentList.Add("node");
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi) ?? throw new InvalidOperationException("failed to start dotnet vivim.dll");
        var node = new VivimProcess(p);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (node._stderr)
                {
                    if (node._stderr.Length < 64 * 1024)
                    {
                        node._stderr.AppendLine(e.Data);
                    }
                }
            }
        };
        p.BeginErrorReadLine();
        _ = Task.Run(node.ReadLoopAsync, CancellationToken.None);
        try
        {
            var listening = await node._listening.Task.WaitAsync(ct);
            node.PeerId = listening["peerId"]!.GetValue<string>();
            node.Addrs = [.. listening["addrs"]!.AsArray().Select(a => a!.GetValue<string>())];
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
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
                var o = JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException("stdout line is not a JSON object: " + line);
                var ev = o["event"]?.GetValue<string>();
                if (ev == "listening")
                {
                    _listening.TrySetResult(o);
                }
                if (ev == "result" && o["id"]?.GetValue<string>() is { } id && _pending.TryRemove(id, out var tcs))
                {
                    tcs.TrySetResult(o);
                    continue;
                }
                lock (_gate)
                {
                    _events.Add(o);
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            _listening.TrySetException(e);
        }
        finally
        {
            var ex = new InvalidOperationException("vivim exited. stderr:\n" + Stderr);
            _listening.TrySetException(ex);
            foreach (var t in _pending.Values)
            {
                t.TrySetException(ex);
            }
            _exited.TrySetResult();
        }
    }

    public IReadOnlyList<JsonObject> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Polls the events (not results) until one matches.</summary>
    public async Task<JsonObject> WaitEventAsync(Func<JsonObject, bool> match, CancellationToken ct)
    {
        while (true)
        {
            if (Events.FirstOrDefault(match) is { } e)
            {
                return e;
            }
            await Task.Delay(50, ct);
        }
    }

    /// <summary>Sends a raw line to stdin.</summary>
    public async Task SendLineAsync(string line, CancellationToken ct)
    {
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), ct);
        await _process.StandardInput.FlushAsync(ct);
    }

    /// <summary>Sends a command with a fresh id and returns its result (ok or not).</summary>
    public async Task<JsonObject> TryCommandAsync(JsonObject cmd, CancellationToken ct)
    {
        var id = "c" + Interlocked.Increment(ref _nextId);
        cmd["id"] = id;
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        await SendLineAsync(cmd.ToJsonString(), ct);
        return await tcs.Task.WaitAsync(ct);
    }

    /// <summary>Sends a command; throws with the error text when it reports ok=false.</summary>
    public async Task<JsonObject> CommandAsync(JsonObject cmd, CancellationToken ct)
    {
        var r = await TryCommandAsync(cmd, ct);
        if (r["ok"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"vivim command {cmd["cmd"]} failed: {r["error"]}\nstderr:\n{Stderr}");
        }
        return r;
    }

    /// <summary>Closes stdin (the node's clean stop) and waits; kills the process tree if it does not exit in 10 s.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                try
                {
                    _process.StandardInput.Close();
                }
                catch (IOException)
                {
                }
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    /// <summary>Sends SIGTERM (via kill(1)) and returns the exit code once the process has stopped.</summary>
    public async Task<int> TerminateAsync(CancellationToken ct)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(ct);
        }
        await _process.WaitForExitAsync(ct);
        return _process.ExitCode;
    }

    /// <summary>Closes stdin (EOF) and returns the exit code once the process has stopped.</summary>
    public async Task<int> StopAsync(CancellationToken ct)
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync(ct);
        return _process.ExitCode;
    }
}

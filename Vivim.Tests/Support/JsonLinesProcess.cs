using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vivim.Tests.Support;

/// <summary>
/// A child process that speaks JSON lines: commands on stdin carry a string <c>id</c>, the object on stdout with the
/// same <c>id</c> is their result, every other object is an event. Used for the js-libp2p test peer and for
/// <c>vivim p2p node</c>.
/// </summary>
public sealed class JsonLinesProcess : IAsyncDisposable
{
    private const int MaxStderrChars = 64 * 1024;

    private readonly Process _process;
    private readonly string _name;
    private readonly bool _strictStdout;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new(StringComparer.Ordinal);
    private readonly List<JsonObject> _events = [];
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<JsonObject> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyEvent;
    private int _nextId;

    private JsonLinesProcess(Process process, string name, string readyEvent, bool strictStdout)
    {
        _process = process;
        _name = name;
        _readyEvent = readyEvent;
        _strictStdout = strictStdout;
    }

    /// <summary>The process's first <c>{"event": readyEvent}</c> object.</summary>
    public JsonObject Ready { get; private set; } = [];

    public Task Exited => _exited.Task;

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    public IReadOnlyList<JsonObject> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
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

    /// <summary>
    /// Starts the process and waits for its ready event. With <paramref name="strictStdout"/> a stdout line that is not a
    /// JSON object ends the conversation (a program under test must print only JSON there); otherwise it is ignored.
    /// </summary>
    public static async Task<JsonLinesProcess> StartAsync(ProcessStartInfo start, string name, string readyEvent, bool strictStdout, CancellationToken ct)
    {
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"failed to start {name}");
        var child = new JsonLinesProcess(process, name, readyEvent, strictStdout);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._stderr)
                {
                    if (child._stderr.Length < MaxStderrChars)
                    {
                        child._stderr.AppendLine(e.Data);
                    }
                }
            }
        };
        process.BeginErrorReadLine();
        _ = Task.Run(child.ReadLoopAsync, CancellationToken.None);
        try
        {
            child.Ready = await child._ready.Task.WaitAsync(ct);
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }

        return child;
    }

    private async Task ReadLoopAsync()
    {
        Exception? failure = null;
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                JsonObject? o;
                try
                {
                    o = JsonNode.Parse(line) as JsonObject;
                }
                catch (JsonException) when (!_strictStdout)
                {
                    continue;
                }

                if (o is null)
                {
                    if (_strictStdout)
                    {
                        throw new InvalidOperationException("stdout line is not a JSON object: " + line);
                    }

                    continue;
                }

                if (o["event"] is JsonValue e && e.GetValueKind() == JsonValueKind.String && e.GetValue<string>() == _readyEvent)
                {
                    _ready.TrySetResult(o);
                }

                if (o["id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String && _pending.TryRemove(id.GetValue<string>(), out var result))
                {
                    result.TrySetResult(o);
                    continue;
                }

                lock (_events)
                {
                    _events.Add(o);
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            failure = e;
        }
        finally
        {
            var ex = new InvalidOperationException($"{_name} stopped talking{(failure is null ? string.Empty : ": " + failure.Message)}. stderr:\n{Stderr}", failure);
            _ready.TrySetException(ex);
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(ex);
            }

            _exited.TrySetResult();
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

    public async Task SendLineAsync(string line, CancellationToken ct)
    {
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), ct);
        await _process.StandardInput.FlushAsync(ct);
    }

    /// <summary>Sends a command with a fresh id and returns its result, whether ok or not.</summary>
    public async Task<JsonObject> TryCommandAsync(JsonObject cmd, CancellationToken ct)
    {
        var id = "c" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        cmd["id"] = id;
        var result = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = result;
        await SendLineAsync(cmd.ToJsonString(), ct);
        return await result.Task.WaitAsync(ct);
    }

    /// <summary>Sends a command; throws with the error text when it reports ok=false.</summary>
    public async Task<JsonObject> CommandAsync(JsonObject cmd, CancellationToken ct)
    {
        var result = await TryCommandAsync(cmd, ct);
        if (result["ok"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"{_name} command {cmd["cmd"]} failed: {result["error"]}\nstderr:\n{Stderr}");
        }

        return result;
    }

    /// <summary>Closes stdin (EOF) and returns the exit code once the process has stopped.</summary>
    public Task<int> StopAsync(CancellationToken ct)
    {
        _process.StandardInput.Close();
        return WaitForExitAsync(ct);
    }

    public async Task<int> WaitForExitAsync(CancellationToken ct)
    {
        await _process.WaitForExitAsync(ct);
        return _process.ExitCode;
    }

    /// <summary>Closes stdin (the clean stop) and waits; kills the process tree if it does not exit in 10 s.</summary>
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
}

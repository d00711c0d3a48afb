using System.Net.WebSockets;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// What a sync session pays per delivered batch in the two framework calls its send loop makes, with the loop's
/// cancelable token (as before) and without one (as now, the token being watched by one registration per session):
/// the WebSocket send of a batch frame (a server socket over a stream that completes writes at once, so the framing
/// and the send path are what is measured) and the wait of a caught-up session's loop on its outgoing channel, woken
/// by the next message. Run: <c>-- --filter '*SessionSend*' --inProcess --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class SessionSendBenchmarks
{
    private readonly CancellationTokenSource _session = new();
    private readonly object _message = new();
    private WebSocket _socket = null!;
    private Channel<object> _outgoing = null!;
    private byte[] _frame = null!;

    [GlobalSetup]
    public void Setup()
    {
        _socket = WebSocket.CreateFromStream(Stream.Null, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        _outgoing = Channel.CreateBounded<object>(new BoundedChannelOptions(16) { SingleReader = true });
        _frame = new byte[600]; // a one-update batch frame's size
        Array.Fill(_frame, (byte)'x');
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _socket.Dispose();
        _session.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task SendWithSessionToken() => _socket.SendAsync(_frame, WebSocketMessageType.Text, endOfMessage: true, _session.Token);

    [Benchmark]
    public Task SendWithoutToken() => _socket.SendAsync(_frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    [Benchmark]
    public async Task WaitWithSessionToken()
    {
        var waiting = _outgoing.Reader.WaitToReadAsync(_session.Token);
        _outgoing.Writer.TryWrite(_message);
        await waiting;
        _outgoing.Reader.TryRead(out _);
    }

    [Benchmark]
    public async Task WaitWithoutToken()
    {
        var waiting = _outgoing.Reader.WaitToReadAsync(CancellationToken.None);
        _outgoing.Writer.TryWrite(_message);
        await waiting;
        _outgoing.Reader.TryRead(out _);
    }
}

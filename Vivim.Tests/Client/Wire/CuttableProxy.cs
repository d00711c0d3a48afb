using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Vivim.Tests.Client.Wire;

/// <summary>
/// A loopback TCP relay in front of the gateway whose connections a test can cut at once, as a network failure
/// would: both sides see their connection reset, nothing in the client or the gateway is told.
/// </summary>
internal sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _upstream;
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Upstream)> _pairs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _next;

    public CuttableProxy(Uri upstream)
    {
        _upstream = upstream;
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    public int Accepted => Volatile.Read(ref _next);

    /// <summary>Resets every open connection (new ones are still accepted).</summary>
    public void CutAll()
    {
        foreach (var (id, pair) in _pairs)
        {
            pair.Client.Client.LingerState = new LingerOption(true, 0); // RST, not FIN
            pair.Client.Dispose();
            pair.Upstream.Dispose();
            _pairs.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var upstream = new TcpClient();
            await upstream.ConnectAsync(_upstream.Host, _upstream.Port, _stop.Token);
            var id = Interlocked.Increment(ref _next);
            _pairs[id] = (client, upstream);
            _ = PumpAsync(id, client.GetStream(), upstream.GetStream());
            _ = PumpAsync(id, upstream.GetStream(), client.GetStream());
        }
    }

    private async Task PumpAsync(int id, NetworkStream from, NetworkStream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            if (_pairs.TryRemove(id, out var pair))
            {
                pair.Client.Dispose();
                pair.Upstream.Dispose();
            }
        }
    }
}

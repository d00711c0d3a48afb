using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// The sockets' own cost of fan-out, for <c>gateway-fanout --capacity</c> to set the gateway's figure against: a
/// process of its own (Kestrel, server GC, like the gateway) that holds the clones' WebSockets in groups (one group per
/// DID) and, for each <c>POST /send/{group}</c>, sends the posted bytes as one text frame to every socket of the group,
/// each through its own queue and send loop, and reads (and drops) what the clones send back. No JSON, no grains, no
/// commits: what is left is Kestrel, the WebSocket framing and the loopback sockets, which any delivery pays.
/// </summary>
internal static class FanoutSocketBaseline
{
    public const string Command = "fanout-socket-baseline";

    /// <summary>Serves until standard input closes (the parent process ends it that way, or by killing it).</summary>
    public static async Task<int> ServeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.UseWebSockets();
        var groups = new ConcurrentDictionary<int, ConcurrentDictionary<Sink, byte>>();
        app.Map("/sockets/{group:int}", async (HttpContext context, int group) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var sink = new Sink(socket);
            var members = groups.GetOrAdd(group, _ => new ConcurrentDictionary<Sink, byte>());
            members[sink] = 0;
            var sending = sink.SendLoopAsync();
            var buffer = new byte[1024];
            try
            {
                while ((await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted)).MessageType != WebSocketMessageType.Close)
                {
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }

            members.TryRemove(sink, out _);
            sink.Complete();
            await sending;
        });
        app.MapPost("/send/{group:int}", async (HttpContext context, int group) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var frame = body.ToArray();
            if (groups.TryGetValue(group, out var members))
            {
                foreach (var sink in members.Keys)
                {
                    sink.Enqueue(frame);
                }
            }

            return Results.NoContent();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine("listening " + address);
        while (await Console.In.ReadLineAsync() is not null)
        {
        }

        await app.StopAsync();
        return 0;
    }

    /// <summary>One clone's socket: frames go out in order, one send at a time, as the gateway's sessions send them.</summary>
    private sealed class Sink(WebSocket socket)
    {
        private readonly Channel<byte[]> _frames = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });

        public void Enqueue(byte[] frame) => _frames.Writer.TryWrite(frame);

        public void Complete() => _frames.Writer.TryComplete();

        public async Task SendLoopAsync()
        {
            try
            {
                await foreach (var frame in _frames.Reader.ReadAllAsync())
                {
                    await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>The baseline server as a child process of the benchmark, killed on dispose.</summary>
    internal sealed class Server : IDisposable
    {
        private readonly Process _process;

        private Server(Process process, Uri baseAddress)
        {
            _process = process;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public TimeSpan CpuTime
        {
            get
            {
                _process.Refresh();
                return _process.TotalProcessorTime;
            }
        }

        public static async Task<Server> StartAsync()
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(typeof(FanoutSocketBaseline).Assembly.Location);
            start.ArgumentList.Add(Command);
            start.Environment["DOTNET_gcServer"] = "1";
            var process = Process.Start(start) ?? throw new InvalidOperationException("The baseline server did not start.");
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                while (true)
                {
                    var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                        ?? throw new InvalidOperationException("The baseline server ended before it listened.");
                    if (line.StartsWith("listening ", StringComparison.Ordinal))
                    {
                        return new Server(process, new Uri(line["listening ".Length..]));
                    }
                }
            }
            catch
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }
    }
}

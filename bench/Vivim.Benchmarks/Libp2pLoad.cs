using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Security.Noise;

namespace Vivim.Benchmarks;

/// <summary>
/// Loopback load generator: C#↔C# connection setups/s, raw Noise handshakes/s, Yamux throughput on 1 and 32 streams;
/// then the same measured js↔js by interop/libp2p/bench.mjs in the same run, and the ratios.
/// Also GossipSub: messages/s delivered end to end in a fully connected 4-node mesh (1 publisher, 3 subscribers;
/// deliveries counted at the subscribers).
/// Run: dotnet run -c Release --project bench/Vivim.Benchmarks -- libp2p [--seconds=5] [--mib=256] [--gossip-msgs=20000] [--no-js]
/// </summary>
public static class Libp2pLoad
{
    private const string Sink = "/vivim/sink/1.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Arg(args, "seconds", 5);
        var mib = Arg(args, "mib", 256);
        var cs = new Dictionary<string, double>
        {
            ["handshakesPerSec"] = await ConnectionSetupsAsync(seconds),
            ["noiseOnlyHandshakesPerSec"] = await NoiseOnlyAsync(seconds),
            ["yamux1MBps"] = await ThroughputAsync(1, mib),
            ["yamux32MBps"] = await ThroughputAsync(32, mib),
            ["gossipDeliveriesPerSec"] = await GossipAsync(Arg(args, "gossip-msgs", 20_000)),
        };
        Console.WriteLine($"C#  : {Format(cs)}");
        if (args.Contains("--no-js"))
        {
            return 0;
        }
        var js = await RunJsAsync(seconds, mib, Arg(args, "gossip-msgs", 20_000));
        Console.WriteLine($"js  : {Format(js)}");
        foreach (var k in new[] { "handshakesPerSec", "yamux1MBps", "yamux32MBps", "gossipDeliveriesPerSec" })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio {k,-22} C#/js = {cs[k] / js[k]:F2}x"));
        }
        return 0;
    }

    private static int Arg(string[] args, string name, int def)
    {
        var a = args.FirstOrDefault(x => x.StartsWith($"--{name}=", StringComparison.Ordinal));
        return a is null ? def : int.Parse(a[(name.Length + 3)..], CultureInfo.InvariantCulture);
    }

    private static string Format(Dictionary<string, double> d) =>
        string.Join("  ", d.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:F1}")));

    private static Libp2pHost NewHost() => new Libp2pHostBuilder()
        .ListenOn("/ip4/127.0.0.1/tcp/0")
        .WithConnectionLimits(100_000, 1024)
        .WithStreamHandler(Sink, async (s, ct) =>
        {
            var buf = new byte[256 * 1024];
            while (await s.ReadAsync(buf, ct) > 0)
            {
            }
            await s.CloseWriteAsync();
        })
        .Build();

    /// <summary>TCP + multistream + Noise XX + multistream(yamux) per connection, then close; sequential, like bench.mjs.</summary>
    private static async Task<double> ConnectionSetupsAsync(int seconds)
    {
        await using var server = NewHost();
        await using var client = NewHost();
        await server.StartAsync();
        var addr = server.ListenAddresses[0]; // no /p2p/: always a fresh connection
        for (var i = 0; i < 50; i++)
        {
            await (await client.DialAsync(addr)).CloseAsync(); // warm-up
        }
        var count = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            var c = await client.DialAsync(addr);
            count++;
            await c.CloseAsync();
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Just the Noise XX handshake (both roles) over a connected loopback socket pair.</summary>
    private static async Task<double> NoiseOnlyAsync(int seconds)
    {
        using var a = Ed25519Identity.Generate();
        using var b = Ed25519Identity.Generate();
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        using var c = new TcpClient { NoDelay = true };
        await c.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)l.LocalEndpoint).Port);
        using var s = await l.AcceptTcpClientAsync();
        s.NoDelay = true;
        var x = new KeepOpen(c.GetStream());
        var y = new KeepOpen(s.GetStream());
        var count = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            var t1 = NoiseHandshake.RunAsync(x, a, true, b.PeerId, CancellationToken.None);
            var t2 = NoiseHandshake.RunAsync(y, b, false, null, CancellationToken.None);
            await Task.WhenAll(t1, t2);
            count++;
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> ThroughputAsync(int streams, int mib)
    {
        await using var server = NewHost();
        await using var client = NewHost();
        await server.StartAsync();
        var conn = await client.DialAsync(server.ListenAddresses[0].WithPeerId(server.PeerId));
        var per = (long)mib * 1024 * 1024 / streams;
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)7);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(async _ =>
        {
            await using var s = await conn.NewStreamAsync([Sink]);
            for (var left = per; left > 0; left -= chunk.Length)
            {
                await s.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)));
            }
            await s.CloseWriteAsync();
            while (await s.ReadAsync(chunk.AsMemory(0, 1)) > 0)
            {
            }
        }));
        return per * streams / (1024.0 * 1024.0) / sw.Elapsed.TotalSeconds;
    }

    /// <summary>4 hosts, all pairs connected, all subscribed; node 0 publishes <paramref name="messages"/> 256-byte messages.</summary>
    private static async Task<double> GossipAsync(int messages)
    {
        const string topic = "bench";
        var nodes = new List<(Libp2pHost Host, Vivim.Libp2p.Protocols.Pubsub.GossipSub Gs)>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var h = NewHost();
                var g = new Vivim.Libp2p.Protocols.Pubsub.GossipSub(h);
                await h.StartAsync();
                nodes.Add((h, g));
            }
            for (var i = 0; i < 4; i++)
            {
                for (var j = i + 1; j < 4; j++)
                {
                    await nodes[i].Host.DialAsync(nodes[j].Host.ListenAddresses[0].WithPeerId(nodes[j].Host.PeerId));
                }
            }
            foreach (var n in nodes)
            {
                n.Gs.Subscribe(topic);
            }
            while (nodes.Any(n => n.Gs.MeshPeers(topic).Count < 3))
            {
                await Task.Delay(20);
            }
            var received = 0;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var readers = nodes.Skip(1).Select(n => Task.Run(async () =>
            {
                await foreach (var _ in n.Gs.Messages.ReadAllAsync())
                {
                    if (Interlocked.Increment(ref received) == 3 * messages)
                    {
                        done.TrySetResult();
                    }
                }
            })).ToList();
            var payload = new byte[256];
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < messages; i++)
            {
                await nodes[0].Gs.PublishAsync(topic, payload);
            }
            await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            return 3.0 * messages / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.Gs.DisposeAsync();
                await n.Host.DisposeAsync();
            }
        }
    }

    private static async Task<Dictionary<string, double>> RunJsAsync(int seconds, int mib, int gossipMessages)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Vivim.sln")))
        {
            dir = dir.Parent;
        }
        var interop = Path.Combine(dir?.FullName ?? ".", "interop", "libp2p");
        if (!Directory.Exists(Path.Combine(interop, "node_modules")))
        {
            throw new InvalidOperationException($"run `npm ci` in {interop} first");
        }
        var psi = new ProcessStartInfo("node") { WorkingDirectory = interop, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--import", "./polyfill.mjs", "bench.mjs", $"--seconds={seconds}", $"--mib={mib}", $"--gossip-msgs={gossipMessages}" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var line = await p.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("bench.mjs printed nothing");
        await p.WaitForExitAsync();
        var o = JsonNode.Parse(line)!.AsObject();
        return o.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>());
    }

    /// <summary>Lets repeated handshakes share one socket (the Noise stream must not close it).</summary>
    private sealed class KeepOpen(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}

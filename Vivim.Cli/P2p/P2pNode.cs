using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Libp2p.Protocols.Pubsub;

namespace Vivim.Cli.P2p;

public sealed record NodeOptions(IReadOnlyList<string> Listen, IReadOnlyList<string> Bootstrap, byte[]? Seed, IReadOnlyList<string> Subscribe);

/// <summary>"/vivim/" DHT records: any UTF-8 value is valid; the first candidate wins.</summary>
public sealed class AnyUtf8Validator : IKadRecordValidator
{
    private static readonly UTF8Encoding Strict = new(false, true);

    public void Validate(byte[] key, byte[] value)
    {
        try
        {
            Strict.GetString(value);
        }
        catch (DecoderFallbackException)
        {
            throw new MalformedDataException("/vivim/ record value is not UTF-8");
        }
    }

    public int Select(byte[] key, IReadOnlyList<byte[]> values) => 0;
}

/// <summary>The peer behind <c>vivim p2p node</c>: a host with identify, ping, Kademlia (server) and GossipSub, driven by JSON lines.</summary>
public sealed class P2pNode : IAsyncDisposable
{
    public const int MaxLineBytes = 64 * 1024;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private static readonly UTF8Encoding Strict = new(false, true);

    private readonly NodeOptions _options;
    private readonly JsonLineWriter _out;
    private readonly Libp2pHost _host;
    private readonly KadDht _dht;
    private readonly GossipSub _gossip;
    private readonly List<Task> _running = [];
    private readonly Lock _runningGate = new();

    public P2pNode(NodeOptions options, JsonLineWriter output)
    {
        _options = options;
        _out = output;
        var builder = new Libp2pHostBuilder();
        if (options.Seed is { } seed)
        {
            builder.WithIdentitySeed(seed);
        }
        foreach (var l in options.Listen)
        {
            builder.ListenOn(l);
        }
        _host = builder.Build();
        _dht = new KadDht(_host, new KadOptions { ServerMode = true, Validators = { ["vivim"] = new AnyUtf8Validator() } });
        _gossip = new GossipSub(_host);
        _host.PeerConnected += (_, e) => _out.Write(w =>
        {
            w.WriteString("event", "peer:connect");
            w.WriteString("peerId", e.Peer.ToString());
        });
        _host.PeerDisconnected += (_, e) => _out.Write(w =>
        {
            w.WriteString("event", "peer:disconnect");
            w.WriteString("peerId", e.Peer.ToString());
        });
        _gossip.MessageReceived += (_, m) => _out.Write(w =>
        {
            w.WriteString("event", "message");
            w.WriteString("topic", m.Topic);
            w.WriteString("from", (m.From ?? m.ReceivedFrom).ToString());
            w.WriteString("data", Encoding.UTF8.GetString(m.Data));
        });
    }

    /// <summary>Starts, reports "listening", dials the bootstrap peers, then serves stdin commands until EOF or cancellation.</summary>
    public async Task RunAsync(Stream input, CancellationToken ct)
    {
        await _host.StartAsync(ct);
        foreach (var t in _options.Subscribe)
        {
            _gossip.Subscribe(t);
        }
        _out.Write(w =>
        {
            w.WriteString("event", "listening");
            w.WriteString("peerId", _host.PeerId.ToString());
            w.WriteStartArray("addrs");
            foreach (var a in _host.ListenAddresses)
            {
                w.WriteStringValue(a.ToString());
            }
            w.WriteEndArray();
        });
        foreach (var b in _options.Bootstrap)
        {
            Track(BootstrapAsync(b, ct));
        }
        try
        {
            await foreach (var line in ReadLinesAsync(input, ct))
            {
                if (line is null)
                {
                    Fail("", "line longer than 64 KiB");
                    continue;
                }
                Track(HandleLineAsync(line, ct));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void Track(Task t)
    {
        lock (_runningGate)
        {
            _running.RemoveAll(x => x.IsCompleted);
            _running.Add(t);
        }
    }

    private async Task BootstrapAsync(string addr, CancellationToken ct)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(CommandTimeout);
            var conn = await _host.DialAsync(Multiaddr.Parse(addr), cts.Token);
            _out.Write(w =>
            {
                w.WriteString("event", "bootstrap");
                w.WriteString("addr", addr);
                w.WriteBoolean("ok", true);
                w.WriteString("peerId", conn.RemotePeer.ToString());
            });
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _out.Write(w =>
            {
                w.WriteString("event", "bootstrap");
                w.WriteString("addr", addr);
                w.WriteBoolean("ok", false);
                w.WriteString("error", e.Message);
            });
        }
    }

    /// <summary>Lines as UTF-8 text (without the newline); null for a line over <see cref="MaxLineBytes"/> (its bytes are skipped).</summary>
    public static async IAsyncEnumerable<string?> ReadLinesAsync(Stream input, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var buf = new byte[16 * 1024];
        var line = new MemoryStream();
        var tooLong = false;
        int n;
        while ((n = await input.ReadAsync(buf, ct).AsTask().WaitAsync(ct)) > 0) // WaitAsync: a console read may ignore the token
        {
            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buf[i] != (byte)'\n')
                {
                    continue;
                }
                if (!tooLong)
                {
                    line.Write(buf, start, i - start);
                }
                start = i + 1;
                if (tooLong || line.Length > MaxLineBytes)
                {
                    yield return null;
                }
                else
                {
                    yield return DecodeLine(line);
                }
                line.SetLength(0);
                tooLong = false;
            }
            if (!tooLong)
            {
                line.Write(buf, start, n - start);
                if (line.Length > MaxLineBytes)
                {
                    tooLong = true;
                    line.SetLength(0);
                }
            }
        }
        if (tooLong)
        {
            yield return null;
        }
        else if (line.Length > 0)
        {
            yield return DecodeLine(line);
        }
    }

    private static string DecodeLine(MemoryStream line)
    {
        var span = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }
        return Encoding.UTF8.GetString(span);
    }

    private void Fail(string id, string error) => _out.Write(w =>
    {
        w.WriteString("event", "result");
        w.WriteString("id", id);
        w.WriteBoolean("ok", false);
        w.WriteString("error", error);
    });

    private sealed class CommandException(string message) : Exception(message);

    private static string Str(JsonElement cmd, string name) =>
        cmd.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new CommandException($"missing string field \"{name}\"");

    private async Task HandleLineAsync(string line, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            Fail("", "bad JSON: " + e.Message);
            return;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Fail("", "a command must be a JSON object");
                return;
            }
            var id = root.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.String ? idEl.GetString()! : "";
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(CommandTimeout);
                var name = Str(root, "cmd");
                if (idEl.ValueKind != JsonValueKind.String)
                {
                    throw new CommandException("missing string field \"id\"");
                }
                var write = await ExecuteAsync(name, root, cts.Token);
                _out.Write(w =>
                {
                    w.WriteString("event", "result");
                    w.WriteString("id", id);
                    w.WriteBoolean("ok", true);
                    write(w);
                });
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Fail(id, "node stopping");
            }
            catch (OperationCanceledException)
            {
                Fail(id, "timed out");
            }
            catch (Exception e) when (e is CommandException or Libp2pException or IOException or FormatException or ArgumentException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                Fail(id, e.Message);
            }
        }
    }

    private static byte[] ProviderKey(string key)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return [0x12, 0x20, .. digest];
    }

    private static void WritePeers(Utf8JsonWriter w, string name, IEnumerable<(PeerId Peer, IEnumerable<Multiaddr> Addrs)> peers)
    {
        w.WriteStartArray(name);
        foreach (var (peer, addrs) in peers)
        {
            w.WriteStartObject();
            w.WriteString("peerId", peer.ToString());
            w.WriteStartArray("addrs");
            foreach (var a in addrs.Select(a => a.ToString()).Distinct(StringComparer.Ordinal))
            {
                w.WriteStringValue(a);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private async Task<Action<Utf8JsonWriter>> ExecuteAsync(string name, JsonElement cmd, CancellationToken ct)
    {
        switch (name)
        {
            case "dial":
            {
                var conn = await _host.DialAsync(Multiaddr.Parse(Str(cmd, "addr")), ct);
                var peer = conn.RemotePeer.ToString();
                return w => w.WriteString("peerId", peer);
            }
            case "ping":
            {
                var addr = Multiaddr.Parse(Str(cmd, "addr"));
                var conn = await _host.DialAsync(addr, ct);
                var rtt = await _host.PingAsync(conn.RemotePeer, ct);
                return w => w.WriteNumber("rttMs", Math.Round(rtt.TotalMilliseconds, 3));
            }
            case "subscribe":
            {
                var topic = Str(cmd, "topic");
                _gossip.Subscribe(topic);
                return _ => { };
            }
            case "unsubscribe":
            {
                var topic = Str(cmd, "topic");
                _gossip.Unsubscribe(topic);
                return _ => { };
            }
            case "publish":
            {
                var topic = Str(cmd, "topic");
                var data = Encoding.UTF8.GetBytes(Str(cmd, "data"));
                var recipients = await _gossip.PublishAsync(topic, data, ct);
                return w => w.WriteNumber("recipients", recipients);
            }
            case "provide":
            {
                var told = await _dht.ProvideAsync(ProviderKey(Str(cmd, "key")), ct);
                return w => w.WriteNumber("told", told);
            }
            case "findProviders":
            {
                var found = await _dht.FindProvidersAsync(ProviderKey(Str(cmd, "key")), cancellationToken: ct);
                return w => WritePeers(w, "providers", found.Select(p => (p.Peer, (IEnumerable<Multiaddr>)p.Addresses)));
            }
            case "put":
            {
                var key = Encoding.UTF8.GetBytes(Str(cmd, "key"));
                var value = Encoding.UTF8.GetBytes(Str(cmd, "value"));
                var accepted = await _dht.PutValueAsync(key, value, ct);
                return w => w.WriteNumber("accepted", accepted);
            }
            case "get":
            {
                var key = Encoding.UTF8.GetBytes(Str(cmd, "key"));
                var value = await _dht.GetValueAsync(key, ct) ?? throw new CommandException("not found");
                string text;
                try
                {
                    text = Strict.GetString(value);
                }
                catch (DecoderFallbackException)
                {
                    throw new CommandException("value is not UTF-8");
                }
                return w => w.WriteString("value", text);
            }
            case "peers":
            {
                var peers = _host.Connections.GroupBy(c => c.RemotePeer)
                    .Select(g => (g.Key, (IEnumerable<Multiaddr>)[.. g.Select(c => c.RemoteAddress)]))
                    .ToList();
                return w => WritePeers(w, "peers", peers);
            }
            default:
                throw new CommandException(string.Create(CultureInfo.InvariantCulture, $"unknown cmd \"{name}\""));
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_runningGate)
        {
            running = [.. _running];
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        await _gossip.DisposeAsync();
        _dht.Dispose();
        await _host.DisposeAsync();
    }
}

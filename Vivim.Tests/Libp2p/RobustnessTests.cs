using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Multistream;
using Vivim.Libp2p.Muxing.Yamux;
using LimitExceededException = Vivim.Libp2p.Core.LimitExceededException;

namespace Vivim.Tests.Libp2p;

/// <summary>Malformed peers, protocol violations and limits, C#↔C# over loopback TCP.</summary>
public sealed class RobustnessTests : IDisposable
{
    // The tests hold the peer end only as long as they use it; without a root the GC may finalize it mid-test and the
    // connection resets, which a test would misread as the session's own reason to close.
    private readonly List<NetworkStream> _sockets = [];

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }

    private async Task<(NetworkStream A, NetworkStream B)> SocketPairAsync()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var c = new TcpClient { NoDelay = true };
        var connect = c.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)l.LocalEndpoint).Port);
        var s = await l.AcceptTcpClientAsync();
        await connect;
        var pair = (c.GetStream(), s.GetStream());
        _sockets.Add(pair.Item1);
        _sockets.Add(pair.Item2);
        return pair;
    }

    private static byte[] Frame(YamuxFrameType t, YamuxFlags f, uint id, uint len, int payload = 0)
    {
        var b = new byte[12 + payload];
        new YamuxHeader(t, f, id, len).Write(b);
        return b;
    }

    private static async Task<YamuxHeader> ReadHeaderAsync(Stream s, CancellationToken ct)
    {
        var h = new byte[12];
        await s.ReadExactlyAsync(h, ct);
        return YamuxHeader.Parse(h);
    }

    /// <summary>Reads frames until a GoAway arrives (skipping data payloads); returns its code.</summary>
    private static async Task<uint> ReadUntilGoAwayAsync(Stream s, CancellationToken ct)
    {
        while (true)
        {
            var h = await ReadHeaderAsync(s, ct);
            if (h.Type == YamuxFrameType.GoAway)
            {
                return h.Length;
            }
            if (h.Type == YamuxFrameType.Data && h.Length > 0)
            {
                await s.ReadExactlyAsync(new byte[h.Length], ct);
            }
        }
    }

    private async Task AssertProtocolErrorAsync(byte[] bytes, YamuxOptions? options = null)
    {
        using var cts = TestUtil.Timeout(20);
        var (a, b) = await SocketPairAsync();
        await using var session = new YamuxSession(a, isClient: false, options ?? new YamuxOptions { KeepAliveInterval = null });
        session.Start();
        await b.WriteAsync(bytes, cts.Token);
        Assert.Equal((uint)YamuxGoAwayCode.ProtocolError, await ReadUntilGoAwayAsync(b, cts.Token));
        await session.Completion.WaitAsync(cts.Token);
        Assert.IsType<YamuxProtocolException>(session.CloseReason);
        b.Dispose();
    }

    [Fact]
    public Task Yamux_BadVersion_ClosesWithProtocolError() => AssertProtocolErrorAsync([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);

    [Fact]
    public Task Yamux_UnknownType_ClosesWithProtocolError() => AssertProtocolErrorAsync([0, 7, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);

    [Fact]
    public Task Yamux_WrongParitySyn_ClosesWithProtocolError() => AssertProtocolErrorAsync(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 2, 0));

    [Fact]
    public Task Yamux_WindowOverflow_ClosesWithProtocolError() =>
        AssertProtocolErrorAsync([.. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0), .. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.None, 1, uint.MaxValue)]);

    [Fact]
    public Task Yamux_DataBeyondReceiveWindow_ClosesWithProtocolError()
    {
        // window is 256 KiB and the app never reads: 4 x 64 KiB fit, one more byte does not
        var opts = new YamuxOptions { ReceiveWindow = 256 * 1024, KeepAliveInterval = null };
        var frames = new List<byte>(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0));
        for (var i = 0; i < 4; i++)
        {
            frames.AddRange(Frame(YamuxFrameType.Data, YamuxFlags.None, 1, 64 * 1024, 64 * 1024));
        }
        frames.AddRange(Frame(YamuxFrameType.Data, YamuxFlags.None, 1, 1, 1));
        return AssertProtocolErrorAsync([.. frames], opts);
    }

    [Fact]
    public Task Yamux_SingleFrameLargerThanWindow_ClosesWithProtocolError() =>
        AssertProtocolErrorAsync([.. Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0), .. Frame(YamuxFrameType.Data, YamuxFlags.None, 1, 64 * 1024 * 1024)]);

    [Fact]
    public async Task Yamux_InboundStreamLimit_ExtraSynGetsRst_SessionSurvives()
    {
        using var cts = TestUtil.Timeout(20);
        var (a, b) = await SocketPairAsync();
        await using var session = new YamuxSession(a, isClient: false, new YamuxOptions { MaxInboundStreams = 4, KeepAliveInterval = null });
        session.Start();
        for (uint id = 1; id <= 9; id += 2)
        {
            await b.WriteAsync(Frame(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, id, 0), cts.Token);
        }
        var answers = new Dictionary<uint, YamuxFlags>();
        while (answers.Count < 5)
        {
            var h = await ReadHeaderAsync(b, cts.Token);
            answers[h.StreamId] = h.Flags;
        }
        for (uint id = 1; id <= 7; id += 2)
        {
            Assert.Equal(YamuxFlags.Ack, answers[id]);
        }
        Assert.Equal(YamuxFlags.Rst, answers[9]);
        // data for the refused stream is discarded, and the session still answers pings
        await b.WriteAsync(Frame(YamuxFrameType.Data, YamuxFlags.None, 9, 3, 3), cts.Token);
        await b.WriteAsync(Frame(YamuxFrameType.Ping, YamuxFlags.Syn, 0, 42), cts.Token);
        var pong = await ReadHeaderAsync(b, cts.Token);
        Assert.Equal(new YamuxHeader(YamuxFrameType.Ping, YamuxFlags.Ack, 0, 42), pong);
        Assert.False(session.IsClosed);
        Assert.Equal(4, session.StreamCount);
    }

    [Fact]
    public async Task Yamux_FlowControl_SenderStallsAtWindowAndResumesAfterReads()
    {
        using var cts = TestUtil.Timeout(30);
        var (a, b) = await SocketPairAsync();
        var opts = new YamuxOptions { ReceiveWindow = 256 * 1024, KeepAliveInterval = null };
        await using var client = new YamuxSession(a, true, opts);
        await using var server = new YamuxSession(b, false, opts);
        client.Start();
        server.Start();
        var s = await client.OpenStreamAsync(cts.Token);
        var payload = RandomNumberGenerator.GetBytes(1024 * 1024);
        var write = s.WriteAsync(payload, cts.Token).AsTask();
        var inbound = await server.AcceptStreamAsync(cts.Token);
        // the sender has used the whole window: without reads it gets no more credit, so the 1 MiB write cannot complete
        await TestUtil.UntilAsync(() => inbound.RemainingReceiveWindow == 0, cts.Token);
        Assert.False(write.IsCompleted);
        var got = new byte[payload.Length];
        await inbound.ReadExactlyAsync(got, cts.Token);
        await write;
        Assert.Equal(payload, got);
        await s.CloseWriteAsync();
        Assert.Equal(0, await inbound.ReadAsync(new byte[1], cts.Token));
    }

    [Fact]
    public async Task Yamux_GoAwayFromRemote_RefusesNewStreams()
    {
        using var cts = TestUtil.Timeout(20);
        var (a, b) = await SocketPairAsync();
        await using var session = new YamuxSession(a, isClient: true, new YamuxOptions { KeepAliveInterval = null });
        session.Start();
        await b.WriteAsync(Frame(YamuxFrameType.GoAway, YamuxFlags.None, 0, 0), cts.Token);
        await b.WriteAsync(Frame(YamuxFrameType.Ping, YamuxFlags.Syn, 0, 7), cts.Token);
        Assert.Equal(YamuxFrameType.Ping, (await ReadHeaderAsync(b, cts.Token)).Type);
        await Assert.ThrowsAsync<StreamResetException>(() => session.OpenStreamAsync(cts.Token));
    }

    [Fact]
    public async Task Yamux_KeepAlive_UnansweredPingClosesSession()
    {
        using var cts = TestUtil.Timeout(20);
        var clock = TestUtil.NewClock();
        var (a, b) = await SocketPairAsync();
        await using var session = new YamuxSession(a, isClient: true, new YamuxOptions(), time: clock);
        var interval = session.Options.KeepAliveInterval!.Value;
        session.Start(); // the first keepalive delay starts here
        clock.Advance(interval);
        var h = await ReadHeaderAsync(b, cts.Token); // the keepalive ping, never answered
        Assert.Equal(YamuxFrameType.Ping, h.Type);
        Assert.False(session.IsClosed);
        clock.Advance(interval); // the ping's deadline (started before it was sent) passes
        await session.Completion.WaitAsync(cts.Token);
        Assert.IsType<YamuxProtocolException>(session.CloseReason);
    }

    [Fact]
    public async Task Yamux_OutboundStreamLimit_Throws()
    {
        using var cts = TestUtil.Timeout(20);
        var (a, b) = await SocketPairAsync();
        await using var session = new YamuxSession(a, isClient: true, new YamuxOptions { MaxOutboundStreams = 2, KeepAliveInterval = null });
        session.Start();
        await session.OpenStreamAsync(cts.Token);
        await session.OpenStreamAsync(cts.Token);
        await Assert.ThrowsAsync<LimitExceededException>(() => session.OpenStreamAsync(cts.Token));
        b.Dispose();
    }

    [Fact]
    public async Task Multistream_LazyDialerDataStaysInStream()
    {
        using var cts = TestUtil.Timeout(20);
        var (a, b) = await SocketPairAsync();
        // lazy dialer: header + proposal + application bytes in one write, without waiting
        byte[] lazy = [.. MultistreamSelect.EncodeMessage(MultistreamSelect.ProtocolId), .. MultistreamSelect.EncodeMessage("/nope/1"), .. MultistreamSelect.EncodeMessage("/app/1"), .. "APPDATA"u8.ToArray()];
        await a.WriteAsync(lazy, cts.Token);
        var proto = await MultistreamSelect.HandleAsync(b, p => p == "/app/1", () => ["/app/1"], cts.Token);
        Assert.Equal("/app/1", proto);
        var data = new byte[7];
        await b.ReadExactlyAsync(data, cts.Token);
        Assert.Equal("APPDATA"u8.ToArray(), data);
        // the listener echoed header, na, and the protocol
        Assert.Equal(MultistreamSelect.ProtocolId, await MultistreamSelect.ReadMessageAsync(a, cts.Token));
        Assert.Equal("na", await MultistreamSelect.ReadMessageAsync(a, cts.Token));
        Assert.Equal("/app/1", await MultistreamSelect.ReadMessageAsync(a, cts.Token));
    }

    [Fact]
    public async Task Multistream_DialerFallsBackAfterNa_AndFailsWhenNoneSupported()
    {
        using var cts = TestUtil.Timeout(20);
        var (a, b) = await SocketPairAsync();
        var listener = MultistreamSelect.HandleAsync(b, p => p == "/b", () => ["/b"], cts.Token);
        Assert.Equal("/b", await MultistreamSelect.SelectAsync(a, ["/a", "/b"], cts.Token));
        Assert.Equal("/b", await listener);

        var (c, d) = await SocketPairAsync();
        var l2 = MultistreamSelect.HandleAsync(d, _ => false, () => [], cts.Token);
        await Assert.ThrowsAsync<NegotiationException>(() => MultistreamSelect.SelectAsync(c, ["/x", "/y"], cts.Token));
        c.Dispose();
        await Assert.ThrowsAnyAsync<Exception>(() => l2);
    }

    [Fact]
    public async Task CSharpToCSharp_PingIdentifyEchoAndEvents()
    {
        using var cts = TestUtil.Timeout(60);
        await using var a = TestUtil.NewHost();
        await using var b = TestUtil.NewHost();
        await a.StartAsync(cts.Token);
        await b.StartAsync(cts.Token);
        var bConnected = new TaskCompletionSource<PeerId>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bDisconnected = new TaskCompletionSource<PeerId>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.PeerConnected += (_, e) => bConnected.TrySetResult(e.Peer);
        b.PeerDisconnected += (_, e) => bDisconnected.TrySetResult(e.Peer);
        var conn = await a.DialAsync(b.ListenAddresses[0].WithPeerId(b.PeerId), cts.Token);
        Assert.Equal(a.PeerId, await bConnected.Task.WaitAsync(cts.Token));
        TestUtil.AssertRoundTrip(await a.PingAsync(b.PeerId, cts.Token));
        TestUtil.AssertRoundTrip(await b.PingAsync(a.PeerId, cts.Token));
        var info = await a.IdentifyAsync(conn, cts.Token);
        Assert.Equal(b.PeerId, info.PeerId);
        Assert.Contains(TestUtil.Echo, info.Protocols);
        await using (var s = await a.NewStreamAsync(b.PeerId, [TestUtil.Echo], cts.Token))
        {
            var (sent, recv, n) = await TestUtil.EchoRoundTripAsync(s, 3 * 1024 * 1024 + 7, cts.Token, s.CloseWriteAsync);
            Assert.Equal(sent, recv);
            Assert.Equal(3 * 1024 * 1024 + 7, n);
        }
        await Assert.ThrowsAsync<NegotiationException>(() => a.NewStreamAsync(b.PeerId, ["/not/supported"], cts.Token));
        await conn.CloseAsync();
        Assert.Equal(a.PeerId, await bDisconnected.Task.WaitAsync(cts.Token));
    }

    [Fact]
    public async Task Host_DialWithWrongPeerId_FailsNoiseVerification()
    {
        using var cts = TestUtil.Timeout(30);
        await using var a = TestUtil.NewHost();
        await using var b = TestUtil.NewHost();
        await b.StartAsync(cts.Token);
        using var other = Ed25519Identity.Generate();
        await Assert.ThrowsAsync<NoiseHandshakeException>(() => a.DialAsync(b.ListenAddresses[0].WithPeerId(other.PeerId), cts.Token));
        Assert.Equal(0, a.ConnectionCount);
    }

    private static async Task<bool> ClosedByRemoteAsync(NetworkStream s, CancellationToken ct)
    {
        var buf = new byte[4096];
        try
        {
            while (true)
            {
                if (await s.ReadAsync(buf, ct) == 0)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Theory]
    [InlineData("random")]
    [InlineData("bad-header")]
    [InlineData("garbage-after-noise-proposal")]
    [InlineData("overlong-line")]
    public async Task Host_GarbageTcpPeerIsClosed_OthersStillServed(string kind)
    {
        using var cts = TestUtil.Timeout(30);
        var logs = new ListLoggerFactory();
        await using var host = TestUtil.NewHost(b => b.WithLogging(logs));
        await host.StartAsync(cts.Token);
        var ep = host.ListenAddresses[0].ToTcpEndPoint()!;
        using var raw = new TcpClient();
        await raw.ConnectAsync(ep, cts.Token);
        var rs = raw.GetStream();
        byte[] garbage = kind switch
        {
            "random" => RandomNumberGenerator.GetBytes(4096),
            "bad-header" => MultistreamSelect.EncodeMessage("/multistream/2.0.0"),
            "garbage-after-noise-proposal" => [.. MultistreamSelect.EncodeMessage(MultistreamSelect.ProtocolId), .. MultistreamSelect.EncodeMessage("/noise"), 0x00, 0x20, .. RandomNumberGenerator.GetBytes(32), 0x01, 0x00, .. RandomNumberGenerator.GetBytes(256)],
            _ => [0xff, 0xff, 0x03, .. new byte[100]],
        };
        await rs.WriteAsync(garbage, cts.Token);
        Assert.True(await ClosedByRemoteAsync(rs, cts.Token));

        await using var other = TestUtil.NewHost();
        await other.DialAsync(host.ListenAddresses[0].WithPeerId(host.PeerId), cts.Token);
        TestUtil.AssertRoundTrip(await other.PingAsync(host.PeerId, cts.Token));
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("failed during upgrade", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Host_GarbageOnAStream_ResetsOnlyThatStream()
    {
        using var cts = TestUtil.Timeout(30);
        await using var a = TestUtil.NewHost();
        await using var b = TestUtil.NewHost();
        await b.StartAsync(cts.Token);
        var conn = await a.DialAsync(b.ListenAddresses[0].WithPeerId(b.PeerId), cts.Token);
        var raw = await conn.Session.OpenStreamAsync(cts.Token);
        await raw.WriteAsync(RandomNumberGenerator.GetBytes(2000), cts.Token);
        await Assert.ThrowsAsync<StreamResetException>(async () =>
        {
            var buf = new byte[4096];
            while (await raw.ReadAsync(buf, cts.Token) > 0)
            {
            }
        });
        Assert.False(conn.IsClosed);
        TestUtil.AssertRoundTrip(await a.PingAsync(b.PeerId, cts.Token));
    }

    [Fact]
    public async Task Host_MalformedIdentifyFromRemote_IsRejected_ConnectionSurvives()
    {
        using var cts = TestUtil.Timeout(30);
        await using var a = TestUtil.NewHost(h => h.WithAutoIdentify(false));
        await using var b = TestUtil.NewHost(h => h.WithAutoIdentify(false));
        await b.StartAsync(cts.Token);
        using var impostor = Ed25519Identity.Generate();
        // b answers identify with another peer's key, then with garbage
        b.SetStreamHandler("/ipfs/id/1.0.0", async (s, ct) =>
        {
            var m = new Vivim.Libp2p.Protocols.Identify.IdentifyMessage { PublicKey = impostor.PublicKey.ToProtobuf() };
            await Varint.WriteLengthPrefixedAsync(s, m.Encode(), ct);
            await s.CloseWriteAsync();
        });
        var conn = await a.DialAsync(b.ListenAddresses[0].WithPeerId(b.PeerId), cts.Token);
        await Assert.ThrowsAsync<MalformedDataException>(() => a.IdentifyAsync(conn, cts.Token));
        b.SetStreamHandler("/ipfs/id/1.0.0", async (s, ct) =>
        {
            await s.WriteAsync(new byte[] { 0x05, 0xff, 0xff, 0xff, 0xff, 0xff }, ct);
            await s.CloseWriteAsync();
        });
        await Assert.ThrowsAsync<MalformedDataException>(() => a.IdentifyAsync(conn, cts.Token));
        b.SetStreamHandler("/ipfs/id/1.0.0", async (s, ct) =>
        {
            await s.WriteAsync(new byte[] { 0xff, 0xff, 0x7f }, ct); // 2 MiB length prefix
            await s.CloseWriteAsync();
        });
        await Assert.ThrowsAsync<LimitExceededException>(() => a.IdentifyAsync(conn, cts.Token));
        // (b's genuine identify pushes may have been stored; the impostor key never is)
        Assert.True(a.GetPeerInfo(b.PeerId) is null || a.GetPeerInfo(b.PeerId)!.PublicKey.Equals(b.Identity.PublicKey));
        Assert.False(conn.IsClosed);
        TestUtil.AssertRoundTrip(await a.PingAsync(b.PeerId, cts.Token));
    }

    [Fact]
    public async Task Host_SilentPeerIsClosedAfterHandshakeTimeout()
    {
        using var cts = TestUtil.Timeout(30);
        var clock = TestUtil.NewClock();
        await using var host = TestUtil.NewHost(clock);
        await host.StartAsync(cts.Token);
        using var raw = new TcpClient();
        await raw.ConnectAsync(host.ListenAddresses[0].ToTcpEndPoint()!, cts.Token);
        await TestUtil.UntilAsync(() => host.ConnectionCount == 1, cts.Token); // accepted: its handshake is running
        var start = clock.GetUtcNow();
        var closed = ClosedByRemoteAsync(raw.GetStream(), cts.Token);
        // the clock moves in quarters of the timeout: the peer is closed only once a whole timeout has passed
        var timeout = host.Options.HandshakeTimeout;
        await TestUtil.AdvanceUntilAsync(clock, timeout / 4, () => closed.IsCompleted, cts.Token);
        Assert.True(await closed);
        Assert.True(clock.GetUtcNow() - start >= timeout);
        await TestUtil.UntilAsync(() => host.ConnectionCount == 0, cts.Token); // the slot is released right after the socket closes
    }

    [Fact]
    public async Task Host_ConnectionLimitHolds()
    {
        using var cts = TestUtil.Timeout(30);
        await using var server = TestUtil.NewHost(b => b.WithConnectionLimits(2));
        await server.StartAsync(cts.Token);
        var addr = server.ListenAddresses[0].WithPeerId(server.PeerId);
        await using var c1 = TestUtil.NewHost();
        await using var c2 = TestUtil.NewHost();
        await using var c3 = TestUtil.NewHost();
        await c1.StartAsync(cts.Token);
        await c1.DialAsync(addr, cts.Token);
        await c2.DialAsync(addr, cts.Token);
        await Assert.ThrowsAnyAsync<Exception>(() => c3.DialAsync(addr, cts.Token));
        Assert.Equal(2, server.ConnectionCount);
        TestUtil.AssertRoundTrip(await c1.PingAsync(server.PeerId, cts.Token));
        // the outbound side of the limit
        await using var limited = TestUtil.NewHost(b => b.WithConnectionLimits(1));
        await limited.DialAsync(c1.ListenAddresses[0].WithPeerId(c1.PeerId), cts.Token);
        await Assert.ThrowsAsync<LimitExceededException>(() => limited.DialAsync(addr, cts.Token));
    }

    [Fact]
    public async Task Host_StreamLimitPerConnectionHolds()
    {
        using var cts = TestUtil.Timeout(30);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = TestUtil.NewHost(b => b
            .WithYamux(new YamuxOptions { MaxInboundStreams = 8 })
            .WithAutoIdentify(false) // only the held streams: no identify stream of the server's own on the connection
            .WithStreamHandler("/hold/1", async (s, ct) => await release.Task.WaitAsync(ct)));
        await server.StartAsync(cts.Token);
        await using var client = TestUtil.NewHost(b => b.WithAutoIdentify(false));
        var conn = await client.DialAsync(server.ListenAddresses[0].WithPeerId(server.PeerId), cts.Token);
        var held = new List<Libp2pStream>();
        for (var i = 0; i < 8; i++)
        {
            held.Add(await conn.NewStreamAsync(["/hold/1"], cts.Token));
        }
        await Assert.ThrowsAnyAsync<Libp2pException>(() => conn.NewStreamAsync(["/hold/1"], cts.Token));
        release.TrySetResult();
        foreach (var h in held)
        {
            await h.DisposeAsync();
        }
        Assert.False(conn.IsClosed);
    }

    [Fact]
    public async Task Yamux_DisposedStreamWithoutRemoteFin_IsResetAfterCloseTimeout()
    {
        using var cts = TestUtil.Timeout(20);
        var clock = TestUtil.NewClock();
        var (a, b) = await SocketPairAsync();
        await using var session = new YamuxSession(a, isClient: true, new YamuxOptions { KeepAliveInterval = null }, time: clock);
        session.Start();
        var s = await session.OpenStreamAsync(cts.Token);
        await s.DisposeAsync(); // the close timeout starts here
        Assert.Equal(1, session.StreamCount); // still waiting for the remote's FIN
        Assert.Equal(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, (uint)(session.Options.ReceiveWindow - YamuxOptions.DefaultWindow)), await ReadHeaderAsync(b, cts.Token));
        Assert.Equal(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, 1, 0), await ReadHeaderAsync(b, cts.Token));
        Assert.Equal(1, session.StreamCount);
        // the remote never FINs: RST once the timeout has passed, slot freed
        clock.Advance(session.Options.StreamCloseTimeout);
        Assert.Equal(new YamuxHeader(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, 1, 0), await ReadHeaderAsync(b, cts.Token));
        Assert.Equal(0, session.StreamCount);
    }

    [Fact]
    public async Task Host_PeerEventsFireOncePerPeer_ConnectionEventsPerConnection()
    {
        using var cts = TestUtil.Timeout(30);
        await using var a = TestUtil.NewHost();
        await using var b = TestUtil.NewHost();
        await b.StartAsync(cts.Token);
        int peerUp = 0, peerDown = 0, connUp = 0, connDown = 0;
        b.PeerConnected += (_, _) => Interlocked.Increment(ref peerUp);
        b.PeerDisconnected += (_, _) => Interlocked.Increment(ref peerDown);
        b.ConnectionOpened += (_, _) => Interlocked.Increment(ref connUp);
        b.ConnectionClosed += (_, _) => Interlocked.Increment(ref connDown);
        var c1 = await a.DialAsync(b.ListenAddresses[0], cts.Token); // no /p2p/: a second, separate connection
        var c2 = await a.DialAsync(b.ListenAddresses[0], cts.Token);
        await TestUtil.UntilAsync(() => Volatile.Read(ref connUp) >= 2, cts.Token);
        Assert.Equal(1, peerUp);
        await c1.CloseAsync();
        await TestUtil.UntilAsync(() => Volatile.Read(ref connDown) >= 1, cts.Token);
        Assert.Equal(0, peerDown);
        await c2.CloseAsync();
        await TestUtil.UntilAsync(() => Volatile.Read(ref peerDown) >= 1, cts.Token);
        Assert.Equal(2, connDown);
    }

    [Fact]
    public async Task Host_PerProtocolInboundLimit_ResetsExtraStreams()
    {
        using var cts = TestUtil.Timeout(30);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        await using var server = TestUtil.NewHost(b => b.WithStreamHandler("/hold/1", async (s, ct) =>
        {
            Interlocked.Increment(ref running);
            await release.Task.WaitAsync(ct);
        }, maxInboundStreamsPerConnection: 3));
        await server.StartAsync(cts.Token);
        await using var client = TestUtil.NewHost();
        var conn = await client.DialAsync(server.ListenAddresses[0].WithPeerId(server.PeerId), cts.Token);
        var held = new List<Libp2pStream>();
        for (var i = 0; i < 3; i++)
        {
            held.Add(await conn.NewStreamAsync(["/hold/1"], cts.Token));
        }
        await TestUtil.UntilAsync(() => Volatile.Read(ref running) >= 3, cts.Token);
        // negotiation succeeds, then the 4th stream is reset by the limit
        var fourth = await conn.NewStreamAsync(["/hold/1"], cts.Token);
        await Assert.ThrowsAsync<StreamResetException>(async () => await fourth.ReadAtLeastAsync(new byte[1], 1, throwOnEndOfStream: false, cts.Token));
        Assert.Equal(3, Volatile.Read(ref running));
        release.TrySetResult();
        foreach (var h in held)
        {
            Assert.Equal(0, await h.ReadAsync(new byte[1], cts.Token)); // handler finished: FIN
            await h.DisposeAsync();
        }
        // slots are free again
        release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        release.TrySetResult();
        await using var again = await conn.NewStreamAsync(["/hold/1"], cts.Token);
        Assert.Equal(0, await again.ReadAsync(new byte[1], cts.Token));
    }

    [Fact]
    public async Task Host_PendingHandshakeLimit_ExtraSilentConnectionsClosedAtOnce_ThenServiceResumes()
    {
        using var cts = TestUtil.Timeout(30);
        var clock = TestUtil.NewClock(); // moved only below: until then no handshake can time out
        await using var host = TestUtil.NewHost(clock, b => b.WithConnectionLimits(100, maxPendingInbound: 4));
        await host.StartAsync(cts.Token);
        var ep = host.ListenAddresses[0].ToTcpEndPoint()!;
        var silent = new List<TcpClient>();
        for (var i = 0; i < 4; i++)
        {
            var c = new TcpClient();
            await c.ConnectAsync(ep, cts.Token);
            silent.Add(c);
        }
        await TestUtil.UntilAsync(() => host.ConnectionCount >= 4, cts.Token);
        // the fifth is closed at once: the clock has not moved, so it is the pending limit and not a timeout
        using var extra = new TcpClient();
        await extra.ConnectAsync(ep, cts.Token);
        Assert.True(await ClosedByRemoteAsync(extra.GetStream(), cts.Token));
        // the silent ones time out, and real peers are served again
        var closed = silent.Select(c => ClosedByRemoteAsync(c.GetStream(), cts.Token)).ToList();
        await TestUtil.AdvanceUntilAsync(clock, host.Options.HandshakeTimeout, () => closed.All(t => t.IsCompleted), cts.Token);
        foreach (var c in silent)
        {
            c.Dispose();
        }
        await TestUtil.UntilAsync(() => host.ConnectionCount == 0, cts.Token);
        await using var peer = TestUtil.NewHost();
        await peer.DialAsync(host.ListenAddresses[0].WithPeerId(host.PeerId), cts.Token);
        TestUtil.AssertRoundTrip(await peer.PingAsync(host.PeerId, cts.Token));
    }
}

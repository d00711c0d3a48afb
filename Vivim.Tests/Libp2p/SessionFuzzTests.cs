using System.Buffers.Binary;
using CsCheck;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Muxing.Yamux;
using Vivim.Libp2p.Security.Noise;

namespace Vivim.Tests.Libp2p;

/// <summary>Whole-state-machine fuzzing: a Yamux session and both Noise handshake roles fed with random wire bytes.</summary>
public class SessionFuzzTests
{
    /// <summary>Reads come from a fixed buffer (then EOF); writes are discarded.</summary>
    private sealed class ScriptedStream(byte[] input) : Stream
    {
        private readonly MemoryStream _in = new(input);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }

    // Mostly well-formed frames with random types/flags/ids/lengths, so the fuzzer gets past the header checks.
    private static readonly Gen<byte[]> FrameSoup =
        Gen.Select(Gen.Byte[0, 4], Gen.UShort[0, 15], Gen.UInt[0, 12], Gen.Int[0, 300], Gen.Bool)
            .Select(t =>
            {
                var (type, flags, id, len, valid) = t;
                var payload = type == 0 ? len : 0;
                var b = new byte[12 + payload];
                b[0] = valid ? (byte)0 : (byte)1;
                b[1] = type;
                BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), flags);
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), id);
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), type == 1 ? (uint)len * 100_000u : (uint)len);
                return b;
            })
            .Array[1, 30]
            .Select(frames => frames.SelectMany(f => f).ToArray());

    [Fact]
    public async Task YamuxSession_RandomFrameSequences_CloseCleanlyWithTypedReasons()
    {
        await Gen.OneOf(FrameSoup, Gen.Byte.Array[0, 400]).SampleAsync(async wire =>
        {
            foreach (var isClient in new[] { true, false })
            {
                var session = new YamuxSession(new ScriptedStream(wire), isClient, new YamuxOptions { KeepAliveInterval = null, MaxInboundStreams = 4 });
                session.Start();
                // accept and read whatever streams the script opens, as an application would
                _ = Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            var s = await session.AcceptStreamAsync();
                            _ = s.CopyToAsync(Stream.Null);
                        }
                    }
                    catch (StreamResetException)
                    {
                    }
                });
                await session.Completion.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.True(session.CloseReason is null or YamuxProtocolException or MalformedDataException or IOException or EndOfStreamException,
                    $"unexpected close reason {session.CloseReason}");
                await session.DisposeAsync();
            }
        }, iter: 300, threads: 1);
    }

    [Fact]
    public async Task NoiseHandshake_RandomMessages_FailWithTypedErrors()
    {
        using var id = Ed25519Identity.Generate();
        var framed = Gen.Byte.Array[0, 200].Array[1, 3].Select(msgs =>
        {
            var ms = new MemoryStream();
            foreach (var m in msgs)
            {
                ms.Write([(byte)(m.Length >> 8), (byte)m.Length]);
                ms.Write(m);
            }
            return ms.ToArray();
        });
        await Gen.OneOf(framed, Gen.Byte.Array[0, 300]).SampleAsync(async wire =>
        {
            foreach (var initiator in new[] { true, false })
            {
                var ex = await Record.ExceptionAsync(() => NoiseHandshake.RunAsync(new ScriptedStream(wire), id, initiator, null, CancellationToken.None));
                Assert.True(ex is NoiseHandshakeException or MalformedDataException, $"unexpected {ex}");
            }
        }, iter: 1000, threads: 1);
    }
}

using System.Security.Cryptography;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Ping;

/// <summary>"/ipfs/ping/1.0.0": 32-byte payloads echoed verbatim.</summary>
public static class PingProtocol
{
    public const string ProtocolId = "/ipfs/ping/1.0.0";
    public const int PayloadSize = 32;

    /// <summary>Responder: echoes 32-byte payloads until the remote closes; a partial payload resets the stream.</summary>
    public static async Task HandleAsync(Stream stream, CancellationToken ct)
    {
        var buf = new byte[PayloadSize];
        while (true)
        {
            var got = 0;
            while (got < PayloadSize)
            {
                var n = await stream.ReadAsync(buf.AsMemory(got), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    if (got == 0)
                    {
                        return;
                    }
                    throw new MalformedDataException("ping payload truncated");
                }
                got += n;
            }
            await stream.WriteAsync(buf, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Initiator: one round trip on an open stream; verifies the echo. The round trip is timed on <paramref name="time"/> (default: the system clock).</summary>
    public static async Task<TimeSpan> PingOnceAsync(Stream stream, CancellationToken ct, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var payload = RandomNumberGenerator.GetBytes(PayloadSize);
        var echo = new byte[PayloadSize];
        var start = time.GetTimestamp();
        await stream.WriteAsync(payload, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
        try
        {
            await stream.ReadExactlyAsync(echo, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new MalformedDataException("ping stream closed before the echo", e);
        }
        var rtt = time.GetElapsedTime(start);
        if (!payload.AsSpan().SequenceEqual(echo))
        {
            throw new MalformedDataException("ping echo does not match");
        }
        return rtt;
    }
}

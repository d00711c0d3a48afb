using System.Text;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Multistream;

/// <summary>
/// multistream-select 1.0 over any <see cref="Stream"/>. Reads are exact (varint byte-by-byte, then the line), so bytes
/// a lazy dialer sends after its proposal stay in the stream for the application protocol.
/// </summary>
public static class MultistreamSelect
{
    public const string ProtocolId = "/multistream/1.0.0";
    public const string NotAvailable = "na";
    /// <summary>Maximum message length (including the newline), as in js-libp2p.</summary>
    public const int MaxMessageLength = 1024;
    /// <summary>Maximum number of lines a listener reads before giving up.</summary>
    public const int MaxListenerRounds = 32;

    /// <summary>Encodes one message: uvarint(len) || utf8(text) || '\n'.</summary>
    public static byte[] EncodeMessage(string text)
    {
        var payloadLen = Encoding.UTF8.GetByteCount(text) + 1;
        if (payloadLen > MaxMessageLength)
        {
            throw new LimitExceededException("multistream message too long");
        }
        var buf = new byte[Varint.GetSize((ulong)payloadLen) + payloadLen];
        var n = Varint.Write(buf, (ulong)payloadLen);
        Encoding.UTF8.GetBytes(text, buf.AsSpan(n));
        buf[^1] = (byte)'\n';
        return buf;
    }

    /// <summary>Decodes one message payload (after the length prefix): must end with '\n', be UTF-8, contain no other newline.</summary>
    public static string DecodePayload(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 0 || payload[^1] != (byte)'\n')
        {
            throw new MalformedDataException("multistream message does not end with a newline");
        }
        var body = payload[..^1];
        if (body.Contains((byte)'\n'))
        {
            throw new MalformedDataException("multistream message contains an embedded newline");
        }
        try
        {
            return ProtoReader.StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException e)
        {
            throw new MalformedDataException("multistream message is not UTF-8", e);
        }
    }

    /// <summary>Decodes a complete message (length prefix included) from a buffer; returns bytes consumed.</summary>
    public static string DecodeMessage(ReadOnlySpan<byte> data, out int consumed)
    {
        var len = Varint.Read(data, out var n);
        if (len > MaxMessageLength)
        {
            throw new LimitExceededException($"multistream message of {len} bytes exceeds {MaxMessageLength}");
        }
        if ((ulong)(data.Length - n) < len)
        {
            throw new MalformedDataException("truncated multistream message");
        }
        consumed = n + (int)len;
        return DecodePayload(data.Slice(n, (int)len));
    }

    public static async ValueTask<string> ReadMessageAsync(Stream stream, CancellationToken ct)
    {
        var len = await Varint.ReadAsync(stream, ct).ConfigureAwait(false)
            ?? throw new NegotiationException("stream ended during multistream negotiation");
        if (len > MaxMessageLength)
        {
            throw new LimitExceededException($"multistream message of {len} bytes exceeds {MaxMessageLength}");
        }
        var buf = new byte[(int)len];
        try
        {
            await stream.ReadExactlyAsync(buf, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new MalformedDataException("truncated multistream message", e);
        }
        return DecodePayload(buf);
    }

    private static async ValueTask WriteAsync(Stream stream, byte[] data, CancellationToken ct)
    {
        await stream.WriteAsync(data, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Dialer role: proposes protocols in order; returns the one the listener accepted.</summary>
    public static async Task<string> SelectAsync(Stream stream, IReadOnlyList<string> protocols, CancellationToken ct)
    {
        if (protocols.Count == 0)
        {
            throw new ArgumentException("no protocols to propose", nameof(protocols));
        }
        var header = EncodeMessage(ProtocolId);
        var first = EncodeMessage(protocols[0]);
        var both = new byte[header.Length + first.Length];
        header.CopyTo(both, 0);
        first.CopyTo(both, header.Length);
        await WriteAsync(stream, both, ct).ConfigureAwait(false);
        var remoteHeader = await ReadMessageAsync(stream, ct).ConfigureAwait(false);
        if (remoteHeader != ProtocolId)
        {
            throw new NegotiationException($"remote sent '{Truncate(remoteHeader)}' instead of the multistream header");
        }
        for (var i = 0; ; i++)
        {
            var answer = await ReadMessageAsync(stream, ct).ConfigureAwait(false);
            if (answer == protocols[i])
            {
                return answer;
            }
            if (answer != NotAvailable)
            {
                throw new NegotiationException($"unexpected multistream answer '{Truncate(answer)}' to '{protocols[i]}'");
            }
            if (i + 1 >= protocols.Count)
            {
                throw new NegotiationException($"remote supports none of: {string.Join(", ", protocols)}");
            }
            await WriteAsync(stream, EncodeMessage(protocols[i + 1]), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Listener role: answers proposals until one is in <paramref name="supported"/>. Does not send the header before the
    /// dialer's (echoes it on receipt), like js-libp2p.
    /// </summary>
    public static async Task<string> HandleAsync(Stream stream, Func<string, bool> supported, Func<IEnumerable<string>> list, CancellationToken ct)
    {
        var sawHeader = false;
        for (var round = 0; round < MaxListenerRounds; round++)
        {
            var msg = await ReadMessageAsync(stream, ct).ConfigureAwait(false);
            if (!sawHeader)
            {
                if (msg != ProtocolId)
                {
                    throw new NegotiationException($"expected multistream header, got '{Truncate(msg)}'");
                }
                sawHeader = true;
                await WriteAsync(stream, EncodeMessage(ProtocolId), ct).ConfigureAwait(false);
                continue;
            }
            if (msg == "ls")
            {
                var ms = new MemoryStream();
                foreach (var p in list())
                {
                    ms.Write(EncodeMessage(p));
                }
                var inner = ms.ToArray();
                var outer = new byte[Varint.GetSize((ulong)inner.Length + 1) + inner.Length + 1];
                var n = Varint.Write(outer, (ulong)inner.Length + 1);
                inner.CopyTo(outer, n);
                outer[^1] = (byte)'\n';
                await WriteAsync(stream, outer, ct).ConfigureAwait(false);
                continue;
            }
            if (msg != ProtocolId && supported(msg))
            {
                await WriteAsync(stream, EncodeMessage(msg), ct).ConfigureAwait(false);
                return msg;
            }
            await WriteAsync(stream, EncodeMessage(NotAvailable), ct).ConfigureAwait(false);
        }
        throw new NegotiationException("too many multistream proposals");
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";
}

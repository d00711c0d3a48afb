using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace Vivim.Gateway.Hosting;

/// <summary>
/// Kestrel refuses some requests before any API code runs (NUL in the decoded path, a malformed request line or
/// header, a request line or headers over the limits, headers too slow) and answers them with an empty body. This
/// connection middleware turns exactly those answers into problems like every other error: it watches each block
/// Kestrel writes, and only a block that is a whole response head with <c>Content-Length: 0</c> and
/// <c>Connection: close</c> (the API's own errors always carry a body) is replaced. Other bytes pass untouched.
/// </summary>
public static class ServerRejectionProblems
{
    public static void UseServerRejectionProblems(this Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Use(next => connection =>
        {
            connection.Transport = new RewritingTransport(connection.Transport);
            return next(connection);
        });
    }

    /// <summary>The problem for a head Kestrel wrote on its own, or null when <paramref name="head"/> is anything else.</summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> head)
    {
        if (head.Length < 16 || !head.StartsWith("HTTP/1.1 "u8) || !head.EndsWith("\r\n\r\n"u8)
            || head.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0 || head.IndexOf("\r\nConnection: close\r\n"u8) < 0
            || head.IndexOf("\r\nContent-Type:"u8) >= 0 || head[9] is not ((byte)'4' or (byte)'5'))
        {
            return null;
        }

        var status = int.Parse(Encoding.ASCII.GetString(head.Slice(9, 3)), System.Globalization.CultureInfo.InvariantCulture);
        var (code, title, detail) = status switch
        {
            408 => ("timeout", "Request Timeout", "The request's headers did not arrive in time."),
            414 => ("too-large", "URI Too Long", "The request line is longer than 8 KiB."),
            431 => ("too-large", "Request Header Fields Too Large", "The request's headers are larger than 32 KiB."),
            505 => ("bad-request", "HTTP Version Not Supported", "Use HTTP/1.1."),
            _ => ("bad-request", "Bad Request", "The HTTP request is malformed (for example a NUL character, %00, in its path, or an invalid header); it was refused before it was read."),
        };
        var body = Encoding.UTF8.GetBytes($"{{\"type\":\"https://vivim.cloud/problems/{code}\",\"title\":\"{title}\",\"status\":{status},\"code\":\"{code}\",\"detail\":\"{detail}\"}}");

        // The status line and Kestrel's own headers stay; the length changes and the type is added.
        var text = Encoding.ASCII.GetString(head);
        text = text.Replace("\r\nContent-Length: 0\r\n", $"\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\n", StringComparison.Ordinal);
        return [.. Encoding.ASCII.GetBytes(text), .. body];
    }

    private sealed class RewritingTransport(IDuplexPipe inner) : IDuplexPipe
    {
        public PipeReader Input { get; } = inner.Input;

        public PipeWriter Output { get; } = new RewritingWriter(inner.Output);
    }

    /// <summary>Hands out the transport's own buffers; looks at what was written in each before passing it on.</summary>
    private sealed class RewritingWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _lent;

        public override void Advance(int bytes)
        {
            if (bytes > 0 && _lent.Length >= bytes && _lent.Span[0] == (byte)'H' && Rewrite(_lent.Span[..bytes]) is { } problem)
            {
                // Not advanced yet, so the refused head is simply not sent: the problem is written in its place.
                inner.Write(problem);
                _lent = default;
                return;
            }

            _lent = default;
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _lent = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_lent = inner.GetMemory(sizeHint)).Span;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            if (!source.IsEmpty && source.Span[0] == (byte)'H' && Rewrite(source.Span) is { } problem)
            {
                source = problem;
            }

            return inner.WriteAsync(source, cancellationToken);
        }
    }
}

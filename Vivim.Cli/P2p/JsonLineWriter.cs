using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Vivim.Cli.P2p;

/// <summary>Writes one JSON object per line to a stream, flushed per line; safe to call from any thread.</summary>
public sealed class JsonLineWriter(Stream output)
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Lock _gate = new();

    public void Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        lock (_gate)
        {
            try
            {
                output.Write(buffer.WrittenSpan);
                output.WriteByte((byte)'\n');
                output.Flush();
            }
            catch (IOException)
            {
                // the reader went away; nothing useful to do with the event
            }
        }
    }
}

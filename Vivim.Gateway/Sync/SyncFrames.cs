using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Gateway.Api;
using Vivim.Protocol.Json;

namespace Vivim.Gateway.Sync;

/// <summary>The sync channel's server frames, encoded (shapes: <see cref="WireJson.SyncChannel"/>). A batch is shared by every session of its DID, so its bytes are built once.</summary>
public static class SyncFrames
{
    private static readonly ConditionalWeakTable<SessionBatch, byte[]> Encoded = new();
    private static readonly ConditionalWeakTable<SessionBatch, byte[]> Compressed = new();

    public static byte[] BatchGzip(SessionBatch batch) => Compressed.GetValue(batch, b => Gzip(Batch(b)));

    public static byte[] Batch(SessionBatch batch) => Encoded.GetValue(batch, b =>
        WireJson.SyncChannel.Batch(b.Updates, b.Commits, b.HeadSeq));

    public static byte[] Welcome(long headSeq, int maxInFlight) => Json(WireJson.SyncChannel.Welcome(headSeq, maxInFlight));

    public static byte[] Head(long headSeq) => Json(WireJson.SyncChannel.Head(headSeq));

    public static byte[] Resync(string reason) => Json(WireJson.SyncChannel.Resync(reason));

    public static byte[] Error(string code, string message) => Json(WireJson.SyncChannel.Error(code, message));

    public static byte[] Gzip(byte[] json)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(json);
        }

        return output.ToArray();
    }

    /// <summary>Inflates a client's binary frame, refusing more than <paramref name="maxBytes"/> of output (no gzip bombs).</summary>
    public static byte[] Gunzip(ReadOnlySpan<byte> frame, int maxBytes)
    {
        using var input = new MemoryStream(frame.ToArray());
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = gzip.Read(buffer)) > 0)
        {
            if (output.Length + read > maxBytes)
            {
                throw new InvalidDataException($"A message inflates to more than {maxBytes} bytes.");
            }

            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    private static byte[] Json(JsonObject json) => Encoding.UTF8.GetBytes(JavaScriptJson.Stringify(json));
}

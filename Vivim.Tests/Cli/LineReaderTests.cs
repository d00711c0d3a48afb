using System.Text;
using Vivim.Cli.P2p;

namespace Vivim.Tests.Cli;

/// <summary>The stdin line reader of <c>vivim p2p node</c>: 64 KiB cap, CRLF, chunk boundaries, missing final newline.</summary>
public class LineReaderTests
{
    /// <summary>A stream that hands out at most 7 bytes per read, so lines straddle reads.</summary>
    private sealed class Trickle(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(7, buffer.Length)], cancellationToken);
    }

    private static async Task<List<string?>> ReadAllAsync(Stream s)
    {
        var lines = new List<string?>();
        await foreach (var l in P2pNode.ReadLinesAsync(s, CancellationToken.None))
        {
            lines.Add(l);
        }
        return lines;
    }

    [Fact]
    public async Task Lines_AreSplitAndCapped()
    {
        var max = new string('a', P2pNode.MaxLineBytes);
        var over = new string('b', P2pNode.MaxLineBytes + 1);
        var text = "one\r\ntwö\n" + max + "\n" + over + "\n\nlast";
        foreach (var s in new Stream[] { new MemoryStream(Encoding.UTF8.GetBytes(text)), new Trickle(Encoding.UTF8.GetBytes(text)) })
        {
            var lines = await ReadAllAsync(s);
            Assert.Equal(["one", "twö", max, null, "", "last"], lines);
        }
        Assert.Equal([null], await ReadAllAsync(new MemoryStream(Encoding.UTF8.GetBytes(over + over))));
    }
}

using System.Collections;
using System.Runtime.CompilerServices;
using System.Text;

namespace Vivim.Protocol.Sync;

/// <summary>
/// Stored updates packed as one UTF-8 block (their texts back to back) with their seqs and end offsets. Orleans
/// copies a page of a thousand updates as three arrays instead of a thousand records and strings, and a client
/// parses each update straight from its bytes. Built with a collection expression like any list of
/// <see cref="StoredUpdate"/>; reading an element decodes its text once.
/// </summary>
// The codec is generated in Vivim.Grains.Interfaces, which sees internal members only (as DidKey's).
[GenerateSerializer, Immutable, Alias("vivim.StoredUpdateList")]
[CollectionBuilder(typeof(StoredUpdateList), nameof(Create))]
public sealed class StoredUpdateList : IReadOnlyList<StoredUpdate>
{
    [Id(0)]
    internal readonly byte[] utf8;

    [Id(1)]
    internal readonly long[] seqs;

    [Id(2)]
    internal readonly int[] ends;

    // Decoded on first read: a gateway that writes a page out reads each element once, a client never.
    private StoredUpdate?[]? _decoded;

    public StoredUpdateList(byte[] utf8, long[] seqs, int[] ends)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        ArgumentNullException.ThrowIfNull(seqs);
        ArgumentNullException.ThrowIfNull(ends);
        if (seqs.Length != ends.Length || (ends.Length > 0 && ends[^1] != utf8.Length))
        {
            throw new ArgumentException("Each update needs a seq and an end offset, and the last one ends the block.", nameof(ends));
        }

        this.utf8 = utf8;
        this.seqs = seqs;
        this.ends = ends;
    }

    public static StoredUpdateList Empty { get; } = new([], [], []);

    public int Count => seqs.Length;

    public StoredUpdate this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)seqs.Length, nameof(index));
            var decoded = _decoded ??= new StoredUpdate?[seqs.Length];
            return decoded[index] ??= new StoredUpdate(seqs[index], Encoding.UTF8.GetString(Utf8(index)));
        }
    }

    /// <summary>The seq of the update at <paramref name="index"/>, without decoding its text.</summary>
    public long SeqAt(int index) => seqs[index];

    /// <summary>The update's JSON text as the log holds it, in UTF-8.</summary>
    public ReadOnlySpan<byte> Utf8(int index)
    {
        var start = index == 0 ? 0 : ends[index - 1];
        return utf8.AsSpan(start, ends[index] - start);
    }

    public static StoredUpdateList Create(ReadOnlySpan<StoredUpdate> updates) => Pack(updates.ToArray(), static u => u.Seq, static u => u.Json);

    /// <summary>Packs any rows that have a seq and a text (the log's, without a <see cref="StoredUpdate"/> each).</summary>
    public static StoredUpdateList Pack<T>(IReadOnlyList<T> rows, Func<T, long> seq, Func<T, string> json)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return Empty;
        }

        var seqs = new long[rows.Count];
        var ends = new int[rows.Count];
        var length = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            length = checked(length + Encoding.UTF8.GetByteCount(json(rows[i])));
            ends[i] = length;
            seqs[i] = seq(rows[i]);
        }

        var utf8 = new byte[length];
        for (var i = 0; i < rows.Count; i++)
        {
            Encoding.UTF8.GetBytes(json(rows[i]), utf8.AsSpan(i == 0 ? 0 : ends[i - 1]));
        }

        return new StoredUpdateList(utf8, seqs, ends);
    }

    public IEnumerator<StoredUpdate> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

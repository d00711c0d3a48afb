using Azure.Data.Tables;

namespace Vivim.Storage.Azure;

/// <summary>
/// Bytes (a JSON text in UTF-8) spread over binary properties of at most <see cref="PropertyBytes"/>, at most
/// <see cref="PropertiesPerEntity"/> per entity: the first entity carries the count of continuation entities
/// (<c>Parts</c>), and each continuation row (<see cref="TableKeys.ContinuationKey"/>) its number (<c>Part</c>).
/// Binary, not string, properties: Azure counts strings in UTF-16, so a 64 KiB string holds only 32 Ki characters.
/// </summary>
internal static class ChunkedPayload
{
    /// <summary>Below Azure's 64 KiB per property.</summary>
    public const int PropertyBytes = 64_000;

    /// <summary>
    /// Ten properties are 640,000 bytes, 853,336 as base64: under the 1 MiB an entity may have even where it is
    /// measured on the JSON body, as Azurite does.
    /// </summary>
    public const int PropertiesPerEntity = 10;

    public const int EntityBytes = PropertyBytes * PropertiesPerEntity;

    public const string Parts = "Parts";
    public const string Part = "Part";

    private static readonly string[] Names = [.. Enumerable.Range(0, PropertiesPerEntity).Select(i => "D" + i)];

    /// <summary>Writes <paramref name="payload"/> into <paramref name="main"/> and returns the continuation entities it needs.</summary>
    public static List<TableEntity> Write(TableEntity main, ReadOnlySpan<byte> payload)
    {
        var continuations = new List<TableEntity>();
        var offset = Fill(main, payload, 0);
        for (var part = 1; offset < payload.Length; part++)
        {
            var continuation = new TableEntity(main.PartitionKey, TableKeys.ContinuationKey(main.RowKey, part)) { [Part] = part };
            offset = Fill(continuation, payload, offset);
            continuations.Add(continuation);
        }

        main[Parts] = continuations.Count;
        return continuations;
    }

    /// <summary>The continuation entities <paramref name="main"/> names (rows past its count are stale and skipped).</summary>
    public static int PartsOf(TableEntity main) => main.GetInt32(Parts) ?? 0;

    /// <summary>The bytes of a main entity and its continuations (in part order).</summary>
    public static byte[] Read(TableEntity main, IReadOnlyList<TableEntity> continuations)
    {
        var parts = PartsOf(main);
        if (continuations.Count < parts)
        {
            throw new InvalidOperationException($"Row {main.RowKey} has {continuations.Count} of its {parts} continuation rows.");
        }

        var length = LengthOf(main);
        for (var i = 0; i < parts; i++)
        {
            length += LengthOf(continuations[i]);
        }

        var bytes = new byte[length];
        var offset = CopyFrom(main, bytes, 0);
        for (var i = 0; i < parts; i++)
        {
            offset = CopyFrom(continuations[i], bytes, offset);
        }

        return bytes;
    }

    private static int Fill(TableEntity entity, ReadOnlySpan<byte> payload, int offset)
    {
        for (var i = 0; i < PropertiesPerEntity && offset < payload.Length; i++)
        {
            var length = Math.Min(PropertyBytes, payload.Length - offset);
            entity[Names[i]] = payload.Slice(offset, length).ToArray();
            offset += length;
        }

        return offset;
    }

    private static int LengthOf(TableEntity entity)
    {
        var length = 0;
        foreach (var name in Names)
        {
            if (entity.GetBinary(name) is not { } chunk)
            {
                break;
            }

            length += chunk.Length;
        }

        return length;
    }

    private static int CopyFrom(TableEntity entity, byte[] target, int offset)
    {
        foreach (var name in Names)
        {
            if (entity.GetBinary(name) is not { } chunk)
            {
                break;
            }

            chunk.CopyTo(target, offset);
            offset += chunk.Length;
        }

        return offset;
    }
}

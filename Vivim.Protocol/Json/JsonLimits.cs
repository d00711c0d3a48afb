namespace Vivim.Protocol.Json;

/// <summary>Bounds applied to every JSON text the service parses or writes.</summary>
/// <param name="MaxBytes">Largest accepted UTF-8 input (and written output), in bytes.</param>
/// <param name="MaxDepth">Deepest nesting of objects and arrays; the top-level value is depth 1.</param>
public sealed record JsonLimits(int MaxBytes, int MaxDepth)
{
    /// <summary>Parsing and writing recurse once per level; this keeps any configuration far from the stack's end.</summary>
    public const int DepthCeiling = 256;

    public int MaxBytes { get; } = MaxBytes > 0 ? MaxBytes : throw new ArgumentOutOfRangeException(nameof(MaxBytes));

    public int MaxDepth { get; } = MaxDepth is > 0 and <= DepthCeiling ? MaxDepth : throw new ArgumentOutOfRangeException(nameof(MaxDepth));

    /// <summary>1 MiB and 64 levels: room for a batch of documents at the default 256 KiB document limit.</summary>
    public static JsonLimits Default { get; } = new(1024 * 1024, 64);

    /// <summary>For whole snapshots and exports, which may hold every document of a DID.</summary>
    public static JsonLimits Snapshot { get; } = new(512 * 1024 * 1024, 64);
}

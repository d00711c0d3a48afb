using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Vivim.Protocol.Json;

namespace Vivim.Protocol.State;

/// <summary>
/// The SDK 1.x "merkle root" of a snapshot, which is not a tree: <c>hex(SHA-256(utf8(JSON.stringify(state))))</c> with
/// the state's members in the SDK's order. Unmodified SDK clients recompute exactly this in <c>verifyInitialState</c>.
/// </summary>
public static class SnapshotRootV1
{
    /// <summary>The SDK's state categories in the order its state object is built.</summary>
    public static IReadOnlyList<string> Categories { get; } = ["identity", "nodes", "apps", "contentManifest", "socialGraph", "memoryIndex"];

    /// <summary>The v1 root of a state object as it stands (its member order is what JSON.stringify would see).</summary>
    public static string Compute(JsonNode state, JsonLimits? limits = null) =>
        Compute(JavaScriptJson.StringifyToUtf8(state, limits ?? JsonLimits.Snapshot));

    /// <summary>The v1 root of state text already in <c>JSON.stringify</c> form.</summary>
    public static string Compute(ReadOnlySpan<byte> stringifiedState) => Hex.Encode(SHA256.HashData(stringifiedState));
}

using System.Security.Cryptography;
using System.Text;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Protocol.State;

/// <summary>
/// The rules a document path and an update's <c>type</c> follow (docs/protocol.md §6), and the value a document
/// contributes to the state tree. Shared by the anchor that accepts updates and the clients that replay them.
/// </summary>
public static class StateRules
{
    public const int MaxPathBytes = 512;

    /// <summary>The six state categories, in the SDK's order.</summary>
    public static IReadOnlyList<string> Categories => SnapshotRootV1.Categories;

    /// <summary>The category a type writes into: node→nodes, app→apps, content→contentManifest, social→socialGraph, memory→memoryIndex, identity→identity.</summary>
    public static string CategoryOf(UpdateType type) => type switch
    {
        UpdateType.Identity => "identity",
        UpdateType.Node => "nodes",
        UpdateType.App => "apps",
        UpdateType.Content => "contentManifest",
        UpdateType.Social => "socialGraph",
        UpdateType.Memory => "memoryIndex",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>
    /// Checks <c>category/key</c>: the category matches <paramref name="type"/>; the key is one or more non-empty
    /// segments separated by <c>/</c>, none of them <c>.</c> or <c>..</c>; only URL-unreserved characters and
    /// <c>/</c>; at most 512 bytes. Returns null when valid, otherwise the reason.
    /// </summary>
    public static string? PathProblem(string? path, UpdateType type)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "The path is empty.";
        }

        if (path.Length > MaxPathBytes)
        {
            return $"The path is longer than {MaxPathBytes} bytes.";
        }

        foreach (var c in path)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '/'))
            {
                return $"The path may hold only URL-unreserved characters and '/', not '{(char.IsControl(c) ? $"U+{(int)c:X4}" : c.ToString())}'.";
            }
        }

        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == path.Length - 1)
        {
            return "A path is category/key.";
        }

        var category = path[..slash];
        var expected = CategoryOf(type);
        if (!string.Equals(category, expected, StringComparison.Ordinal))
        {
            return $"An update of type '{JsonNamingPolicyName(type)}' writes under '{expected}/', not '{category}/'.";
        }

        foreach (var segment in path[(slash + 1)..].Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return "Path segments may not be empty, '.' or '..'.";
            }
        }

        return null;
    }

    /// <summary>The tree value of a document: SHA-256 of its RFC 8785 form (docs/protocol.md §6.1).</summary>
    public static byte[] DocumentValue(RawJson document, JsonLimits? limits = null) =>
        SHA256.HashData(Jcs.Canonicalize(document.Parse(limits), limits));

    /// <summary>UTF-8 size of a document as stored.</summary>
    public static int DocumentBytes(RawJson document) => Encoding.UTF8.GetByteCount(document.Text ?? "null");

    private static string JsonNamingPolicyName(UpdateType type) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(type.ToString());
}

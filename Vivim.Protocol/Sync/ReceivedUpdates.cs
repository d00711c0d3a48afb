using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

/// <summary>
/// The JSON each update record was parsed from, as a transport received it. A clone's update hash must come from the
/// update as received (docs/protocol.md §7); without this, the verifier turns the record back into JSON to hash it.
/// Tied to the record instance: a copy (<c>update with { … }</c>) has no received form and is hashed from its fields,
/// so a record can never be vouched for by JSON it was not parsed from.
/// </summary>
public static class ReceivedUpdates
{
    private static readonly ConditionalWeakTable<StateUpdate, JsonObject> Sources = [];

    /// <summary>Parses one update (strict protocol JSON) and remembers the object it came from.</summary>
    public static StateUpdate Parse(ReadOnlySpan<byte> utf8, JsonLimits? limits = null)
    {
        var json = ProtocolJson.ParseObject(utf8, limits);

        // The record from the same bytes the strict parse accepted: no writing the object back out to read it.
        var update = ProtocolModel.FromCheckedUtf8<StateUpdate>(utf8);
        Sources.AddOrUpdate(update, json);
        return update;
    }

    /// <summary>Reads the record from <paramref name="json"/>, which the caller hands over and no longer changes.</summary>
    public static StateUpdate FromJsonObject(JsonObject json)
    {
        var update = ProtocolModel.FromJsonObject<StateUpdate>(json);
        Sources.AddOrUpdate(update, json);
        return update;
    }

    /// <summary>The JSON <paramref name="update"/> was parsed from, if a transport parsed it through this class.</summary>
    public static bool TryGetJson(StateUpdate update, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonObject? json) =>
        Sources.TryGetValue(update, out json);
}

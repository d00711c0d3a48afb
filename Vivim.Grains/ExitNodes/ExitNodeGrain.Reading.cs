using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.ExitNodes;

/// <summary>Reads of the node as the owner's API answers them, with the advertisement serialized once per version.</summary>
public sealed partial class ExitNodeGrain
{
    // Keyed by the record itself: every change of the advertisement stores a new (immutable) record, so a stale text
    // can never be answered, and no code that signs a new advertisement has to remember to clear this.
    private ExitNodeAdvertisement? _advertisementTextOf;
    private byte[] _advertisementText = [];

    public Task<ExitNodeReading> GetReadingAsync()
    {
        RequireKey();
        var advertisement = Node.Advertisement!;
        if (!ReferenceEquals(advertisement, _advertisementTextOf))
        {
            _advertisementText = JavaScriptJson.StringifyToUtf8(ProtocolModel.ToJsonObject(advertisement), JsonLimits.Snapshot);
            _advertisementTextOf = advertisement;
        }

        return Task.FromResult(new ExitNodeReading(Did, CloneCount, _advertisementText));
    }
}

using Vivim.Client.Replica;
using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

/// <summary>An approved registration: the verified advertisement, the SDK's response, and how its snapshot checked.</summary>
public sealed record CloneRegistrationResult(ExitNodeAdvertisement Advertisement, CloneRegistrationResponse Response, SnapshotCheck Snapshot)
{
    public string CloneId => Response.CloneId;
}

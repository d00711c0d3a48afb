using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

public sealed record ExitNodeDetails(string Did, ExitNodeAdvertisement Advertisement, long HeadSeq, string Root, int CloneCount);

namespace Vivim.Client.Http;

public sealed record ExitNodeListing(string Did, long HeadSeq, int CloneCount);

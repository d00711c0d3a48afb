using Vivim.Protocol.Model;

namespace Vivim.Client.Sync;

/// <summary>One change a clone wants to make; <see cref="BaseSeq"/> makes it conditional on the document not having changed since.</summary>
public sealed record UpdateRequest(UpdateType Type, UpdateOperation Operation, string Path, RawJson Data, long? BaseSeq = null);

using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

[GenerateSerializer, Immutable, Alias("vivim.DocumentProof")]
public sealed record DocumentProof(string Path, RawJson Document, long Seq, string Root, string MerkleProof);

// Vivim.Protocol carries only Orleans' serialization attributes, so that clients of the protocol need no Orleans;
// the codecs and copiers for its [GenerateSerializer] types are generated here, where grain calls need them.
[assembly: GenerateCodeForDeclaringAssembly(typeof(Vivim.Protocol.Model.Commit))]

using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Security.Noise;

/// <summary>Result of a Noise XX handshake: the encrypted stream and the authenticated remote identity.</summary>
public sealed record NoiseSession(NoiseSecureStream Stream, PeerId RemotePeer, Libp2pPublicKey RemotePublicKey, IReadOnlyList<string> RemoteStreamMuxers);

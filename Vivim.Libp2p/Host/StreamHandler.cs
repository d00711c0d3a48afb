namespace Vivim.Libp2p.Host;

/// <summary>Handles an inbound stream once its protocol is negotiated. The host disposes the stream when the task ends.</summary>
public delegate Task StreamHandler(Libp2pStream stream, CancellationToken cancellationToken);

namespace Vivim.Client.Transports;

/// <summary>The parent revoked this clone's access.</summary>
public sealed class CloneRevokedException(string message, Exception? inner = null) : Exception(message, inner);

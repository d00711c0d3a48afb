namespace Vivim.Storage;

/// <summary>A nonce and the moment (Unix ms) after which a request carrying it could no longer be accepted anyway.</summary>
public sealed record SpentNonce(string Nonce, long ExpiresAtMs);

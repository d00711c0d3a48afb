namespace Vivim.Storage;

/// <summary>
/// A current document as the state tree sees it: its path, tree value (SHA-256 of its canonical JSON) and the size
/// of its stored JSON in UTF-8 bytes (what counts against a tenant's bytes-of-state quota).
/// </summary>
public readonly record struct DocumentLeaf(string Path, byte[] Value, int Size);

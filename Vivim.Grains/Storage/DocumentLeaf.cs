namespace Vivim.Storage;

/// <summary>A current document as the state tree sees it: its path and tree value (SHA-256 of its canonical JSON).</summary>
public readonly record struct DocumentLeaf(string Path, byte[] Value);

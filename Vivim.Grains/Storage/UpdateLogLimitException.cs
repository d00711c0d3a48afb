namespace Vivim.Storage;

/// <summary>
/// An append the store cannot hold whole (a document, path, update id or commit past the store's limits): refused
/// before anything was written. The HTTP API answers it 413 with <see cref="Code"/>.
/// </summary>
public sealed class UpdateLogLimitException(string message) : Exception(message)
{
    /// <summary>The stable error code of the refusal (<c>docs/api.md</c>).</summary>
    public const string Code = "too-large-to-store";
}

namespace Vivim.Storage;

/// <summary>
/// A database server's storage (PostgreSQL): the service cannot scrub it. Deleted rows become dead tuples that VACUUM
/// makes reusable without overwriting them, and the WAL, its archives and backups keep older versions; erasure there
/// is the operator's procedure (docs/operations.md, "Deleting a tenant's data"). In-memory stores need nothing.
/// </summary>
public sealed class DatabaseServerErasure : IStorageErasure
{
    public Task EraseDeletedAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}

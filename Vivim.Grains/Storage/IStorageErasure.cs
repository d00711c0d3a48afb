namespace Vivim.Storage;

/// <summary>
/// Removes from the database's files what deleted rows leave behind (freed pages, old page images in the write-ahead
/// log), once a tenant or an exit node has been deleted: deleting the rows alone leaves their bytes readable on disk.
/// </summary>
public interface IStorageErasure
{
    /// <summary>Completes once no deleted content that this database keeps in its own files remains there.</summary>
    Task EraseDeletedAsync(CancellationToken cancellationToken = default);
}

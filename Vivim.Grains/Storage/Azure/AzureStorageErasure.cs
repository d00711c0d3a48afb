using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;

namespace Vivim.Storage.Azure;

/// <summary>
/// Azure Storage keeps no scrubbable file of ours: a deleted entity or blob is gone from every read at once, and the
/// service reclaims its (encrypted at rest) space itself; there is no VACUUM to run. What can keep deleted grain state
/// is the account's own recovery features: with blob soft delete on, a deleted blob stays restorable for the retention
/// days. This checks that once (best effort: the identity may not read service properties) and warns, so an operator
/// who promised erasure learns of it; docs/operations.md ("Azure Storage") says what to switch off.
/// </summary>
public sealed partial class AzureStorageErasure(BlobServiceClient blobs, ILogger<AzureStorageErasure> logger) : IStorageErasure
{
    private int _checked;

    public async Task EraseDeletedAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _checked, 1) == 1)
        {
            return;
        }

        try
        {
            var properties = await blobs.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
            if (properties.Value.DeleteRetentionPolicy is { Enabled: true } retention)
            {
                LogSoftDelete(logger, retention.Days ?? 0);
            }
        }
        catch (RequestFailedException e)
        {
            LogUnchecked(logger, e.Status);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob soft delete is on for this storage account: deleted grain state stays restorable for {Days} days (docs/operations.md, \"Azure Storage\")")]
    private static partial void LogSoftDelete(ILogger logger, int days);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the blob service's properties (HTTP {Status}) to check for soft delete")]
    private static partial void LogUnchecked(ILogger logger, int status);
}

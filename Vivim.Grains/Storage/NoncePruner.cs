using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Vivim.Storage;

/// <summary>
/// Deletes expired spent nonces in bounded batches, every <see cref="NonceLedgerOptions.PruneInterval"/>, off the
/// spending path. Every silo runs one; on a shared database they only ever delete rows that are expired for all.
/// </summary>
public sealed partial class NoncePruner(ISpentNonces nonces, TimeProvider time, IOptions<NonceLedgerOptions> options, ILogger<NoncePruner> logger) : BackgroundService
{
    /// <summary>One round: deletes expired rows batch by batch until fewer than a batch remain or the round's bound is reached.</summary>
    public async Task<int> PruneOnceAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var total = 0;
        for (var batch = 0; batch < settings.MaxBatchesPerRound; batch++)
        {
            var deleted = await nonces.PruneAsync(now, settings.PruneBatchSize, cancellationToken);
            total += deleted;
            if (deleted < settings.PruneBatchSize)
            {
                break;
            }
        }

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.PruneInterval, time, stoppingToken);
                var deleted = await PruneOnceAsync(stoppingToken);
                if (deleted > 0)
                {
                    LogPruned(logger, deleted);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The database may be away for a while; expired rows count as absent meanwhile, so this can wait.
                LogFailed(logger, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Count} expired nonces")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete expired nonces: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}

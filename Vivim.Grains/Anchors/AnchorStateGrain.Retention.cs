using Microsoft.Extensions.Logging;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Storage;

namespace Vivim.Anchors;

/// <summary>Retention: clones report cursors, and a timer drops the log before the window (held back by active clones, never past the cap) and records the checkpoint.</summary>
public sealed partial class AnchorStateGrain
{
    public Task ReportCursorAsync(string cloneId, long seq)
    {
        if (!string.IsNullOrEmpty(cloneId) && cloneId.Length <= 256 && seq >= 0 && seq <= _headSeq)
        {
            var seenAt = time.GetUtcNow().ToUnixTimeMilliseconds();
            var previous = state.State.Cursors.GetValueOrDefault(cloneId);
            state.State.Cursors[cloneId] = new CloneCursor(Math.Max(seq, previous?.Seq ?? 0), seenAt);
            _cursorsDirty = true;
        }

        return Task.CompletedTask;
    }

    public async Task<AnchorHead> ApplyRetentionAsync()
    {
        var now = time.GetUtcNow();
        var scan = new RetentionScan((now - _options.Retention).ToUnixTimeMilliseconds(), (now - _options.RetentionCap).ToUnixTimeMilliseconds());

        // The horizons are scanned outside the lock.
        var after = _retainedFromSeq - 1;
        for (var scanned = 0; scanned < _options.RetentionScanUpdates && after < _headSeq;)
        {
            var page = await log.ReadAsync(_did, after, _options.MaxPageUpdates);
            if (page.Updates.Count == 0)
            {
                break;
            }

            var more = scan.Add(page.Commits.Select(ParseCommit), after);
            scanned += page.Updates.Count;
            after = page.Updates[^1].Seq;
            if (!more)
            {
                break;
            }
        }

        await _commitLock.WaitAsync();
        try
        {
            _cursorsDirty |= scan.DropIdleCursors(state.State.Cursors);
            var (through, knownRoot) = scan.Decide(state.State.Cursors);
            if (through >= _retainedFromSeq)
            {
                var root = knownRoot ?? await RootAtAsync(through);
                await log.TruncateAsync(_did, through);
                _retainedFromSeq = through + 1;
                state.State.Checkpoint = new RetentionCheckpoint(through, root ?? string.Empty, now.ToUnixTimeMilliseconds());
                _cursorsDirty = true;
                logger.LogInformation("Anchor {Did} dropped its log through seq {Seq}", _did, through);
            }

            if (_cursorsDirty)
            {
                await WriteStateAsync();
            }
        }
        finally
        {
            _commitLock.Release();
        }

        return await GetHeadAsync();
    }

    private async Task<string?> RootAtAsync(long seq)
    {
        var page = await log.ReadAsync(_did, seq - 1, 1);
        return RetentionScan.RootAt(page.Commits.Select(ParseCommit), seq);
    }

    private static Commit ParseCommit(LoggedCommit commit) =>
        ProtocolModel.Parse<Commit>(System.Text.Encoding.UTF8.GetBytes(commit.Json), JsonLimits.Snapshot);
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Vivim.Storage;

/// <summary>
/// An update log in process memory: for tests and benchmarks only (it loses everything with the process), never a
/// host's default. Shared by every silo of an in-process test cluster when registered as one instance.
/// </summary>
public sealed class InMemoryUpdateLog : IUpdateLog
{
    private readonly ConcurrentDictionary<string, DidLog> _logs = new(StringComparer.Ordinal);

    public Task AppendAsync(string did, LogAppend append, CancellationToken cancellationToken = default)
    {
        LogAppendRules.Validate(did, append);
        var log = _logs.GetOrAdd(did, _ => new DidLog());
        lock (log)
        {
            var expected = log.LastSeq + 1;
            if (append.Updates[0].Seq != expected)
            {
                throw new UpdateLogConflictException($"Append for {did} starts at seq {append.Updates[0].Seq}, the log expects {expected}.");
            }

            // As the databases' unique index does: an updateId already in the log fails the whole append.
            if (append.Updates.FirstOrDefault(u => log.ByUpdateId.ContainsKey(u.UpdateId)) is { } repeated)
            {
                throw new InvalidOperationException($"Update {repeated.UpdateId} is already in the log of {did}.");
            }

            foreach (var update in append.Updates)
            {
                log.Updates.Add(update.Seq, update);
                log.ByUpdateId[update.UpdateId] = update;
                log.LastSeq = update.Seq;
            }

            log.Commits.Add(append.Commit.FromSeq, append.Commit);
            foreach (var change in append.Documents)
            {
                if (change.Json is null)
                {
                    log.Documents.Remove(change.Path);
                }
                else
                {
                    log.Documents[change.Path] = new StoredDocument(change.Path, change.Json, change.Value!, change.Seq);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<LogPage> ReadAsync(string did, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        if (limit <= 0 || !_logs.TryGetValue(did, out var log))
        {
            return Task.FromResult(new LogPage([], []));
        }

        lock (log)
        {
            var updates = new List<LoggedUpdate>();
            for (var seq = Math.Max(afterSeq + 1, log.FirstRetainedSeq); seq <= log.LastSeq && updates.Count < limit; seq++)
            {
                updates.Add(log.Updates[seq]);
            }

            var commits = new List<LoggedCommit>();
            if (updates.Count > 0)
            {
                long first = updates[0].Seq, last = updates[^1].Seq;
                foreach (var commit in log.Commits.Values)
                {
                    if (commit.ToSeq >= first && commit.FromSeq <= last)
                    {
                        commits.Add(commit);
                    }
                }
            }

            return Task.FromResult(new LogPage(updates, commits));
        }
    }

    public Task<LogBounds> GetBoundsAsync(string did, CancellationToken cancellationToken = default)
    {
        if (!_logs.TryGetValue(did, out var log))
        {
            return Task.FromResult(new LogBounds(1, 0));
        }

        lock (log)
        {
            return Task.FromResult(new LogBounds(log.FirstRetainedSeq, log.LastSeq));
        }
    }

    public Task TruncateAsync(string did, long throughSeq, CancellationToken cancellationToken = default)
    {
        if (_logs.TryGetValue(did, out var log))
        {
            lock (log)
            {
                for (var seq = log.FirstRetainedSeq; seq <= Math.Min(throughSeq, log.LastSeq); seq++)
                {
                    if (log.Updates.Remove(seq, out var removed))
                    {
                        log.ByUpdateId.Remove(removed.UpdateId);
                    }
                }

                foreach (var from in log.Commits.Keys.Where(k => log.Commits[k].ToSeq <= throughSeq).ToList())
                {
                    log.Commits.Remove(from);
                }

                // Never past the last seq + 1: the next append must still land inside the retained range.
                log.FirstRetainedSeq = Math.Max(log.FirstRetainedSeq, Math.Min(throughSeq, log.LastSeq) + 1);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyDictionary<string, LoggedUpdate>> FindUpdatesAsync(string did, IReadOnlyCollection<string> updateIds, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, LoggedUpdate>(StringComparer.Ordinal);
        if (_logs.TryGetValue(did, out var log))
        {
            lock (log)
            {
                foreach (var id in updateIds)
                {
                    if (log.ByUpdateId.TryGetValue(id, out var update))
                    {
                        found[id] = update;
                    }
                }
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, LoggedUpdate>>(found);
    }

    public Task<StoredDocument?> ReadDocumentAsync(string did, string path, CancellationToken cancellationToken = default)
    {
        if (!_logs.TryGetValue(did, out var log))
        {
            return Task.FromResult<StoredDocument?>(null);
        }

        lock (log)
        {
            return Task.FromResult(log.Documents.GetValueOrDefault(path));
        }
    }

    public async IAsyncEnumerable<StoredDocument> ReadDocumentsAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StoredDocument[] documents;
        if (!_logs.TryGetValue(did, out var log))
        {
            yield break;
        }

        lock (log)
        {
            documents = [.. log.Documents.Values];
        }

        foreach (var document in documents)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return document;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async IAsyncEnumerable<DocumentLeaf> ReadLeavesAsync(string did, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var document in ReadDocumentsAsync(did, cancellationToken).ConfigureAwait(false))
        {
            yield return new DocumentLeaf(document.Path, document.Value, System.Text.Encoding.UTF8.GetByteCount(document.Json));
        }
    }

    public Task DeleteAsync(string did, CancellationToken cancellationToken = default)
    {
        _logs.TryRemove(did, out _);
        return Task.CompletedTask;
    }

    private sealed class DidLog
    {
        public long FirstRetainedSeq { get; set; } = 1;

        public long LastSeq { get; set; }

        public Dictionary<long, LoggedUpdate> Updates { get; } = [];

        public Dictionary<string, LoggedUpdate> ByUpdateId { get; } = new(StringComparer.Ordinal);

        public SortedList<long, LoggedCommit> Commits { get; } = [];

        public Dictionary<string, StoredDocument> Documents { get; } = new(StringComparer.Ordinal);
    }
}

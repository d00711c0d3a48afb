using System.Security.Cryptography;
using System.Text;
using Vivim.Storage;

namespace Vivim.Tests.Storage;

/// <summary>
/// What every <see cref="IUpdateLog"/> must do, run against each implementation (in memory, SQLite, PostgreSQL) by
/// a sealed subclass. Each test works on DIDs of its own, so the implementations' instances can be shared.
/// </summary>
public abstract class UpdateLogConformance
{
    protected abstract IUpdateLog Log { get; }

    [Fact]
    public async Task Pages_read_from_a_cursor_and_carry_every_commit_overlapping_them()
    {
        var did = NewDid();
        // Commits of 3, 5, 2 and 4 updates: seqs 1..14.
        long next = 1;
        foreach (var size in new[] { 3, 5, 2, 4 })
        {
            await Log.AppendAsync(did, Batch(did, next, size));
            next += size;
        }

        Assert.Equal(new LogBounds(1, 14), await Log.GetBoundsAsync(did));

        var page = await Log.ReadAsync(did, 0, 4);
        Assert.Equal([1L, 2, 3, 4], page.Updates.Select(u => u.Seq));
        Assert.Equal([(1L, 3L), (4L, 8L)], page.Commits.Select(c => (c.FromSeq, c.ToSeq)));
        Assert.Equal(Update(did, 2), page.Updates[1]);
        Assert.Equal(Commit(4, 8), page.Commits[1]);

        page = await Log.ReadAsync(did, 4, 5);
        Assert.Equal([5L, 6, 7, 8, 9], page.Updates.Select(u => u.Seq));
        Assert.Equal([(4L, 8L), (9L, 10L)], page.Commits.Select(c => (c.FromSeq, c.ToSeq)));

        page = await Log.ReadAsync(did, 12, 100);
        Assert.Equal([13L, 14], page.Updates.Select(u => u.Seq));
        Assert.Equal([(11L, 14L)], page.Commits.Select(c => (c.FromSeq, c.ToSeq)));

        AssertEmpty(await Log.ReadAsync(did, 14, 100));
        AssertEmpty(await Log.ReadAsync(did, 0, 0));

        // Walking one update at a time: each page has exactly the one commit holding that update.
        for (long seq = 1; seq <= 14; seq++)
        {
            var single = await Log.ReadAsync(did, seq - 1, 1);
            var commit = Assert.Single(single.Commits);
            Assert.Equal(seq, Assert.Single(single.Updates).Seq);
            Assert.InRange(seq, commit.FromSeq, commit.ToSeq);
        }

        foreach (var (after, limit) in new[] { (0L, 4), (4L, 5), (12L, 100), (14L, 100), (0L, 0), (0L, 100), (7L, 1) })
        {
            await AssertPackedAsReadAsync(did, after, limit);
        }
    }

    /// <summary>The packed page (what the anchor serves) holds exactly the updates' seqs and texts and the commits of the page read.</summary>
    private async Task AssertPackedAsReadAsync(string did, long afterSeq, int limit)
    {
        var page = await Log.ReadAsync(did, afterSeq, limit);
        var packed = await Log.ReadPackedAsync(did, afterSeq, limit);
        Assert.Equal(page.Updates.Select(u => (u.Seq, u.Json)), packed.Updates.Select(u => (u.Seq, u.Json)));
        Assert.Equal(page.Updates.Select(u => Encoding.UTF8.GetBytes(u.Json)), Enumerable.Range(0, packed.Updates.Count).Select(i => packed.Updates.Utf8(i).ToArray()));
        Assert.Equal(page.Commits, packed.Commits);
    }

    [Fact]
    public async Task Bounds_of_an_unknown_DID_are_empty()
    {
        var did = NewDid();
        Assert.Equal(new LogBounds(1, 0), await Log.GetBoundsAsync(did));
        Assert.Empty((await Log.ReadAsync(did, 0, 10)).Updates);
        Assert.Null(await Log.ReadDocumentAsync(did, "nodes/1"));
        Assert.Empty(await ToListAsync(Log.ReadDocumentsAsync(did)));
        Assert.Empty(await Log.FindUpdatesAsync(did, ["x"]));
    }

    [Fact]
    public async Task An_append_that_does_not_continue_the_log_is_refused_and_writes_nothing()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 3));
        var before = await SnapshotAsync(did);

        foreach (var from in new long[] { 5, 3, 2, 1 })
        {
            var refused = Batch(did, from, 2, tag: "refused");
            await Assert.ThrowsAsync<UpdateLogConflictException>(() => Log.AppendAsync(did, refused));
            Assert.Empty(await Log.FindUpdatesAsync(did, [.. refused.Updates.Select(u => u.UpdateId)]));
        }

        Assert.Equal(before, await SnapshotAsync(did));

        // A DID with no log yet accepts only seq 1.
        var fresh = NewDid();
        await Assert.ThrowsAsync<UpdateLogConflictException>(() => Log.AppendAsync(fresh, Batch(fresh, 2, 1)));
        Assert.Equal(new LogBounds(1, 0), await Log.GetBoundsAsync(fresh));
        Assert.Empty(await ToListAsync(Log.ReadDocumentsAsync(fresh)));

        await Log.AppendAsync(did, Batch(did, 4, 1));
        Assert.Equal(new LogBounds(1, 4), await Log.GetBoundsAsync(did));
    }

    [Fact]
    public async Task A_malformed_append_is_refused_before_anything_is_written()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 2));
        var before = await SnapshotAsync(did);
        var good = Batch(did, 3, 3);
        var malformed = new[]
        {
            good with { Updates = [] },
            good with { Updates = [good.Updates[0], good.Updates[2], good.Updates[1]] },
            good with { Commit = new LoggedCommit(3, 4, "{}") },
            good with { Updates = [good.Updates[0], good.Updates[1] with { UpdateId = good.Updates[0].UpdateId }, good.Updates[2]] },
            good with { Updates = [good.Updates[0] with { Root = good.Updates[0].Root.ToUpperInvariant() }, good.Updates[1], good.Updates[2]] },
            good with { Updates = [good.Updates[0] with { UpdateHash = "abc" }, good.Updates[1], good.Updates[2]] },
            good with { Documents = [new DocumentChange("nodes/x", "{}", Value("{}"), 9)] },
            good with { Documents = [new DocumentChange("nodes/x", "{}", null, 3)] },
            good with { Documents = [new DocumentChange("nodes/x", "{}", new byte[31], 3)] },
        };

        foreach (var append in malformed)
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(() => Log.AppendAsync(did, append));
        }

        Assert.Equal(before, await SnapshotAsync(did));
        await Log.AppendAsync(did, good);
    }

    [Fact]
    public async Task Of_concurrent_appenders_at_the_same_seq_exactly_one_wins_and_the_log_has_no_gaps()
    {
        var did = NewDid();
        const int writers = 6;
        const int rounds = 25;
        var winners = new List<LogAppend>();
        for (var round = 0; round < rounds; round++)
        {
            var from = (await Log.GetBoundsAsync(did)).LastSeq + 1;
            // Every writer appends at the same seq, with batches of different sizes and different update ids.
            var attempts = Enumerable.Range(0, writers).Select(w => Batch(did, from, 1 + w, tag: $"r{round}w{w}", sharedPath: "nodes/shared")).ToList();
            var outcomes = await Task.WhenAll(attempts.Select(a => Task.Run(async () =>
            {
                try
                {
                    await Log.AppendAsync(did, a);
                    return true;
                }
                catch (UpdateLogConflictException)
                {
                    return false;
                }
            })));
            Assert.Equal(1, outcomes.Count(o => o));
            winners.Add(attempts[Array.IndexOf(outcomes, true)]);
        }

        var expected = winners.SelectMany(w => w.Updates).ToList();
        Assert.Equal(new LogBounds(1, expected.Count), await Log.GetBoundsAsync(did));
        var all = await ReadAllAsync(did);
        Assert.Equal(expected, all.Updates);
        Assert.Equal(winners.Select(w => w.Commit), all.Commits);
        var shared = await Log.ReadDocumentAsync(did, "nodes/shared");
        Assert.Equal(winners[^1].Documents.Last(d => d.Path == "nodes/shared").Json, shared!.Json);
        Assert.Equal(expected[^1].Seq, shared.Seq);
    }

    [Fact]
    public async Task Truncation_moves_the_bounds_drops_updates_and_the_commits_they_end_and_keeps_documents()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 4));
        await Log.AppendAsync(did, Batch(did, 5, 3));
        await Log.AppendAsync(did, Batch(did, 8, 3));

        await Log.TruncateAsync(did, 5);
        Assert.Equal(new LogBounds(6, 10), await Log.GetBoundsAsync(did));
        var page = await Log.ReadAsync(did, 0, 100);
        Assert.Equal([6L, 7, 8, 9, 10], page.Updates.Select(u => u.Seq));
        Assert.Equal([(5L, 7L), (8L, 10L)], page.Commits.Select(c => (c.FromSeq, c.ToSeq)));
        var fromBefore = await Log.ReadAsync(did, 3, 100);
        Assert.Equal(page.Updates, fromBefore.Updates);
        Assert.Equal(page.Commits, fromBefore.Commits);
        await AssertPackedAsReadAsync(did, 0, 100);
        var found = await Log.FindUpdatesAsync(did, [UpdateId(did, 3), UpdateId(did, 6)]);
        Assert.Equal([UpdateId(did, 6)], found.Keys);
        Assert.Equal(2, (await Log.ReadDocumentAsync(did, "nodes/2"))!.Seq);
        Assert.Equal(10, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);

        // Truncating less than before changes nothing; past the end leaves an empty log that the next seq continues.
        await Log.TruncateAsync(did, 2);
        Assert.Equal(new LogBounds(6, 10), await Log.GetBoundsAsync(did));
        await Log.TruncateAsync(did, 1000);
        Assert.Equal(new LogBounds(11, 10), await Log.GetBoundsAsync(did));
        AssertEmpty(await Log.ReadAsync(did, 0, 100));
        await Assert.ThrowsAsync<UpdateLogConflictException>(() => Log.AppendAsync(did, Batch(did, 12, 1)));
        await Log.AppendAsync(did, Batch(did, 11, 2));
        Assert.Equal(new LogBounds(11, 12), await Log.GetBoundsAsync(did));
        Assert.Equal([11L, 12], (await Log.ReadAsync(did, 0, 100)).Updates.Select(u => u.Seq));
        Assert.Equal(12, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);

        var unknown = NewDid();
        await Log.TruncateAsync(unknown, 10);
        Assert.Equal(new LogBounds(1, 0), await Log.GetBoundsAsync(unknown));
    }

    [Fact]
    public async Task Updates_are_found_by_id_for_a_whole_batch_at_once()
    {
        var did = NewDid();
        var other = NewDid();
        for (long from = 1; from <= 1000; from += 100)
        {
            await Log.AppendAsync(did, Batch(did, from, 100));
        }

        await Log.AppendAsync(other, Batch(other, 1, 10));
        var wanted = Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? UpdateId(did, 1 + (i * 7 % 1000)) : $"missing-{i}").ToList();
        wanted.Add(UpdateId(other, 3));
        var found = await Log.FindUpdatesAsync(did, wanted);
        var expected = wanted.Where(id => id.StartsWith(did, StringComparison.Ordinal)).Distinct().ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), found.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, update) in found)
        {
            Assert.Equal(id, update.UpdateId);
            Assert.Equal(Update(did, update.Seq), update);
        }

        Assert.Empty(await Log.FindUpdatesAsync(did, []));
    }

    [Fact]
    public async Task Ids_that_end_alike_are_told_apart()
    {
        // A log may key its id lookup on part of the id (SQLite keys its last characters): the whole id decides.
        var did = NewDid();
        var ids = Enumerable.Range(0, 40).Select(i => $"{i}-{new string('z', i % 3)}-same-ending-0000").ToList();
        var append = Batch(did, 1, ids.Count);
        append = append with { Updates = [.. append.Updates.Select((u, i) => u with { UpdateId = ids[i] })] };
        await Log.AppendAsync(did, append);

        var found = await Log.FindUpdatesAsync(did, [ids[7], ids[31], "7-zz-same-ending-0000", "same-ending-0000", "-same-ending-0000"]);
        Assert.Equal(new[] { ids[7], ids[31] }.Order(StringComparer.Ordinal), found.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(8, found[ids[7]].Seq);
        Assert.Equal(32, found[ids[31]].Seq);
        Assert.Equal(ids.Count, (await Log.FindUpdatesAsync(did, ids)).Count);
    }

    [Fact]
    public async Task Documents_follow_create_update_and_delete_with_the_seq_that_last_wrote_them()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 1, documents: [Change("nodes/a", """{"v":1}""", 1), Change("nodes/b", """{"v":"b"}""", 1)]));
        await Log.AppendAsync(did, Batch(did, 2, 2, documents: [Change("nodes/a", """{"v":2}""", 2), Change("nodes/b", null, 3)]));

        var a = await Log.ReadDocumentAsync(did, "nodes/a");
        Assert.Equal(("nodes/a", """{"v":2}""", 2L), (a!.Path, a.Json, a.Seq));
        Assert.Equal(Value("""{"v":2}"""), a.Value);
        Assert.Null(await Log.ReadDocumentAsync(did, "nodes/b"));

        // Within one batch the last change of a path wins: created, updated and deleted is absent; created and updated is the update.
        await Log.AppendAsync(did, Batch(did, 4, 5, documents:
        [
            Change("nodes/c", """{"c":1}""", 4),
            Change("nodes/c", """{"c":2}""", 5),
            Change("nodes/c", null, 6),
            Change("nodes/b", """{"again":true}""", 7),
            Change("nodes/b", """{"again":"Grüße 😀"}""", 8),
        ]));
        Assert.Null(await Log.ReadDocumentAsync(did, "nodes/c"));
        var b = await Log.ReadDocumentAsync(did, "nodes/b");
        Assert.Equal(("""{"again":"Grüße 😀"}""", 8L), (b!.Json, b.Seq));

        var documents = (await ToListAsync(Log.ReadDocumentsAsync(did))).OrderBy(d => d.Path, StringComparer.Ordinal).ToList();
        Assert.Equal(["nodes/a", "nodes/b"], documents.Select(d => d.Path));
        Assert.Equal([2L, 8], documents.Select(d => d.Seq));
        Assert.Equal(Value("""{"again":"Grüße 😀"}"""), documents[1].Value);
        var leaves = (await ToListAsync(Log.ReadLeavesAsync(did))).OrderBy(l => l.Path, StringComparer.Ordinal).ToList();
        Assert.Equal(documents.Select(d => (d.Path, Convert.ToHexString(d.Value))), leaves.Select(l => (l.Path, Convert.ToHexString(l.Value))));
        Assert.Equal(documents.Select(d => System.Text.Encoding.UTF8.GetByteCount(d.Json)), leaves.Select(l => l.Size));

        // Deleting a document that does not exist is no error (the anchor checks preconditions, the log records outcomes).
        await Log.AppendAsync(did, Batch(did, 9, 1, documents: [Change("nodes/never", null, 9)]));
        Assert.Equal(2, (await ToListAsync(Log.ReadLeavesAsync(did))).Count);
    }

    [Fact]
    public async Task DIDs_do_not_see_each_other()
    {
        var first = NewDid();
        var second = NewDid();
        // The same seqs, paths and even update ids in both.
        await Log.AppendAsync(first, Batch("same", 1, 3, documents: [Change("nodes/x", """{"of":"first"}""", 1)]));
        await Log.AppendAsync(second, Batch("same", 1, 2, documents: [Change("nodes/x", """{"of":"second"}""", 2)]));

        Assert.Equal(new LogBounds(1, 3), await Log.GetBoundsAsync(first));
        Assert.Equal(new LogBounds(1, 2), await Log.GetBoundsAsync(second));
        Assert.Equal("""{"of":"first"}""", (await Log.ReadDocumentAsync(first, "nodes/x"))!.Json);
        Assert.Equal("""{"of":"second"}""", (await Log.ReadDocumentAsync(second, "nodes/x"))!.Json);
        Assert.Equal(2, (await Log.ReadAsync(second, 0, 100)).Updates.Count);
        Assert.Equal(3, (await Log.FindUpdatesAsync(first, [UpdateId("same", 1), UpdateId("same", 2), UpdateId("same", 3)])).Count);
        Assert.Equal(2, (await Log.FindUpdatesAsync(second, [UpdateId("same", 1), UpdateId("same", 2), UpdateId("same", 3)])).Count);

        await Log.TruncateAsync(first, 3);
        Assert.Equal(new LogBounds(1, 2), await Log.GetBoundsAsync(second));
        Assert.Equal(2, (await Log.ReadAsync(second, 0, 100)).Commits[0].ToSeq);

        await Log.DeleteAsync(second);
        Assert.Equal(new LogBounds(4, 3), await Log.GetBoundsAsync(first));
        Assert.Equal("""{"of":"first"}""", (await Log.ReadDocumentAsync(first, "nodes/x"))!.Json);
    }

    [Fact]
    public async Task Deleting_a_DID_removes_everything_and_its_log_can_start_again()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 5));
        await Log.TruncateAsync(did, 2);
        await Log.DeleteAsync(did);

        Assert.Equal(new LogBounds(1, 0), await Log.GetBoundsAsync(did));
        AssertEmpty(await Log.ReadAsync(did, 0, 100));
        Assert.Empty(await ToListAsync(Log.ReadDocumentsAsync(did)));
        Assert.Empty(await ToListAsync(Log.ReadLeavesAsync(did)));
        Assert.Empty(await Log.FindUpdatesAsync(did, [UpdateId(did, 4)]));
        Assert.Null(await Log.ReadDocumentAsync(did, "nodes/4"));

        await Log.DeleteAsync(did); // nothing left to delete is fine
        await Log.AppendAsync(did, Batch(did, 1, 2));
        Assert.Equal(new LogBounds(1, 2), await Log.GetBoundsAsync(did));
        Assert.Equal(2, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);
    }

    [Fact]
    public async Task Non_ASCII_paths_and_JSON_and_large_texts_come_back_exactly()
    {
        var did = NewDid();
        var texts = new[]
        {
            "{\"text\":\"Grüße, 世界 😀 \u2028 \\u0000 \\\"quoted\\\"\"}",
            "{\"big\":\"" + string.Concat(Enumerable.Range(0, 120_000).Select(i => (char)('a' + (i % 26)))) + "é😀\"}",
            "{\"huge\":\"" + new string('ж', 600_000) + "\"}",
        };
        var paths = new[] { "memoryIndex/notes/Grüße-😀", "contentManifest/日本/語", "nodes/" + new string('x', 500) };
        var changes = paths.Select((p, i) => Change(p, texts[i], 1 + i)).ToList();
        var append = Batch(did, 1, 3, documents: changes);
        append = append with { Updates = [.. append.Updates.Select((u, i) => u with { Json = texts[i], UpdateId = "ünïcode-" + i + "-😀" })] };
        await Log.AppendAsync(did, append);

        var page = await Log.ReadAsync(did, 0, 10);
        Assert.Equal(append.Updates, page.Updates);
        await AssertPackedAsReadAsync(did, 0, 10);
        await AssertPackedAsReadAsync(did, 1, 1);
        for (var i = 0; i < paths.Length; i++)
        {
            var document = await Log.ReadDocumentAsync(did, paths[i]);
            Assert.Equal(texts[i], document!.Json);
            Assert.Equal(Value(texts[i]), document.Value);
        }

        Assert.Equal(paths.Order(StringComparer.Ordinal), (await ToListAsync(Log.ReadLeavesAsync(did))).Select(l => l.Path).Order(StringComparer.Ordinal));
        Assert.Single(await Log.FindUpdatesAsync(did, ["ünïcode-1-😀"]));
    }

    [Fact]
    public async Task A_batch_of_a_thousand_updates_is_one_append()
    {
        var did = NewDid();
        var append = Batch(did, 1, 1000);
        await Log.AppendAsync(did, append);
        var all = await ReadAllAsync(did);
        Assert.Equal(append.Updates, all.Updates);
        Assert.Equal(1000, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);
    }

    [Fact]
    public async Task An_append_that_fails_half_way_leaves_the_log_unchanged_and_other_DIDs_unaffected()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 3));
        var before = await SnapshotAsync(did);

        // Update 6 repeats the id of update 2, already in the log: updates 4 and 5 (and the documents) were written
        // by then in the store's transaction, which must fail as a whole.
        var failing = Batch(did, 4, 5);
        failing = failing with { Updates = [.. failing.Updates.Select(u => u.Seq == 6 ? u with { UpdateId = UpdateId(did, 2) } : u)] };
        var other = NewDid();
        var concurrent = Task.Run(() => Log.AppendAsync(other, Batch(other, 1, 3)));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Log.AppendAsync(did, failing));
        Assert.IsNotType<UpdateLogConflictException>(error);
        await concurrent;

        Assert.Equal(before, await SnapshotAsync(did));
        Assert.Empty(await Log.FindUpdatesAsync(did, [UpdateId(did, 4), UpdateId(did, 5)]));
        Assert.Null(await Log.ReadDocumentAsync(did, "nodes/4"));
        Assert.Equal(new LogBounds(1, 3), await Log.GetBoundsAsync(other));

        await Log.AppendAsync(did, Batch(did, 4, 5));
        Assert.Equal(new LogBounds(1, 8), await Log.GetBoundsAsync(did));
    }

    [Fact]
    public async Task Abandoned_document_streams_release_what_they_hold()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 50));
        for (var i = 0; i < 20; i++)
        {
            await foreach (var document in Log.ReadDocumentsAsync(did))
            {
                Assert.NotNull(document.Json);
                break;
            }

            await foreach (var leaf in Log.ReadLeavesAsync(did))
            {
                Assert.Equal(32, leaf.Value.Length);
                break;
            }
        }

        Assert.Equal(50, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);
        Assert.Equal(new LogBounds(1, 50), await Log.GetBoundsAsync(did));
    }

    protected static string NewDid() => "did:key:z6Mk" + Guid.NewGuid().ToString("N");

    protected static string UpdateId(string did, long seq) => $"{did}/u{seq}";

    protected static byte[] Value(string json) => SHA256.HashData(Encoding.UTF8.GetBytes(json));

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    protected static LoggedUpdate Update(string did, long seq, string tag = "") =>
        new(seq, UpdateId(did, seq) + tag, Hash($"hash {did} {seq}{tag}"), Hash($"root {did} {seq}{tag}"), $$"""{"seq":{{seq}},"did":"{{did}}","tag":"{{tag}}"}""");

    protected static LoggedCommit Commit(long from, long to) => new(from, to, $$"""{"fromSeq":{{from}},"toSeq":{{to}}}""");

    protected static DocumentChange Change(string path, string? json, long seq) => new(path, json, json is null ? null : Value(json), seq);

    /// <summary>Updates from..from+count-1 with their commit; by default each writes document <c>nodes/{seq}</c>.</summary>
    protected static LogAppend Batch(string did, long from, int count, string tag = "", IReadOnlyList<DocumentChange>? documents = null, string? sharedPath = null)
    {
        var updates = Enumerable.Range(0, count).Select(i => Update(did, from + i, tag)).ToList();
        var changes = documents ?? [.. updates.Select(u => Change($"nodes/{u.Seq}", $$"""{"seq":{{u.Seq}},"tag":"{{tag}}"}""", u.Seq))];
        if (sharedPath is not null)
        {
            changes = [.. changes, Change(sharedPath, $$"""{"tag":"{{tag}}"}""", from + count - 1)];
        }

        return new LogAppend(updates, Commit(from, from + count - 1), changes);
    }

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    private async Task<LogPage> ReadAllAsync(string did)
    {
        var updates = new List<LoggedUpdate>();
        var commits = new List<LoggedCommit>();
        var after = 0L;
        while (true)
        {
            var page = await Log.ReadAsync(did, after, 7);
            if (page.Updates.Count == 0)
            {
                return new LogPage(updates, commits);
            }

            updates.AddRange(page.Updates);
            commits.AddRange(page.Commits.Where(c => !commits.Contains(c)));
            after = page.Updates[^1].Seq;
        }
    }

    /// <summary>Everything observable of one DID, comparable with Equals.</summary>
    private async Task<string> SnapshotAsync(string did)
    {
        var text = new StringBuilder();
        text.Append(await Log.GetBoundsAsync(did)).Append('\n');
        var all = await ReadAllAsync(did);
        foreach (var update in all.Updates)
        {
            text.Append(update).Append('\n');
        }

        foreach (var commit in all.Commits)
        {
            text.Append(commit).Append('\n');
        }

        foreach (var document in (await ToListAsync(Log.ReadDocumentsAsync(did))).OrderBy(d => d.Path, StringComparer.Ordinal))
        {
            text.Append(document.Path).Append(' ').Append(document.Json).Append(' ').Append(Convert.ToHexString(document.Value)).Append(' ').Append(document.Seq).Append('\n');
        }

        return text.ToString();
    }

    private static void AssertEmpty(LogPage page)
    {
        Assert.Empty(page.Updates);
        Assert.Empty(page.Commits);
    }
}

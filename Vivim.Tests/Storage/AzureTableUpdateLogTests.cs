using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Vivim.Storage;
using Vivim.Storage.Azure;

namespace Vivim.Tests.Storage;

/// <summary>
/// What the update log on Azure Table storage must do beyond the conformance suite: commits far larger than one
/// entity-group transaction are atomic (never half-visible, one winner of a race), a projection interrupted after
/// the commit is completed by the next reader, payloads past Azure's property and entity limits round-trip, keys
/// never hold what Azure forbids, leaves are read without the JSON, and retention and erasure leave no rows behind.
/// </summary>
public sealed class AzureTableUpdateLogTests(AzureLogFixture fixture) : IClassFixture<AzureLogFixture>, IDisposable
{
    /// <summary>The anchor's largest update (<c>AnchorOptions.MaxUpdateBytes</c>).</summary>
    private const int LargestUpdateBytes = (256 * 1024) + (16 * 1024);

    private AzureTableUpdateLog Log => fixture.Log;

    public void Dispose() => fixture.Requests.FailWhen = null;

    [Fact]
    public async Task A_thousand_updates_far_past_one_transaction_are_one_append_read_back_whole()
    {
        // 1000 updates of 16 KiB and their 1000 documents: 16 MiB, ten times a transaction's entities and four times its bytes.
        var did = NewDid();
        var append = Batch(did, 1, 1000, jsonBytes: 16 * 1024);
        await Log.AppendAsync(did, append);

        Assert.Equal(new LogBounds(1, 1000), await Log.GetBoundsAsync(did));
        var page = await Log.ReadAsync(did, 0, 1000);
        Assert.Equal(append.Updates, page.Updates);
        Assert.Equal(append.Commit, Assert.Single(page.Commits));
        Assert.Equal(1000, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);
        Assert.Equal(append.Documents[999].Json, (await Log.ReadDocumentAsync(did, append.Documents[999].Path))!.Json);
        var found = await Log.FindUpdatesAsync(did, [.. append.Updates.Select(u => u.UpdateId)]);
        Assert.Equal(1000, found.Count);

        // Of the largest size the anchor accepts: 24 updates are 6.5 MiB, past a transaction's 4 MiB.
        var largest = Batch(did, 1001, 24, jsonBytes: LargestUpdateBytes);
        await Log.AppendAsync(did, largest);
        Assert.Equal(largest.Updates, (await Log.ReadAsync(did, 1000, 100)).Updates);
        Assert.Equal(largest.Documents[23].Json, (await Log.ReadDocumentAsync(did, largest.Documents[23].Path))!.Json);
    }

    [Fact]
    public async Task A_large_commit_whose_head_move_fails_leaves_nothing_visible_and_no_staged_rows()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 2));
        var large = Batch(did, 3, 150, tag: "lost");

        // The transaction that would move the head (the only one marking an attempt committed) never reaches the service.
        fixture.Requests.FailWhen = body => body.Contains("\"Committed\":true", StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => Log.AppendAsync(did, large));
        fixture.Requests.FailWhen = null;
        Assert.Equal(1, fixture.Requests.Failed);

        Assert.Equal(new LogBounds(1, 2), await Log.GetBoundsAsync(did));
        Assert.Equal(2, (await Log.ReadAsync(did, 0, 1000)).Updates.Count);
        Assert.Empty(await Log.FindUpdatesAsync(did, [.. large.Updates.Select(u => u.UpdateId)]));
        Assert.Null(await Log.ReadDocumentAsync(did, large.Documents[0].Path));
        Assert.Equal(2, (await ToListAsync(Log.ReadLeavesAsync(did))).Count);

        // The failed attempt cleaned up after itself: only the two committed updates' rows are left.
        var keys = await RowKeysAsync(did);
        Assert.DoesNotContain(keys, k => k.StartsWith('s') || k.StartsWith('a') || (k.StartsWith('u') && k.Contains('-', StringComparison.Ordinal)));

        var retried = Batch(did, 3, 150, tag: "retried");
        await Log.AppendAsync(did, retried);
        Assert.Equal(retried.Updates, (await Log.ReadAsync(did, 2, 1000)).Updates);
    }

    [Fact]
    public async Task Of_two_appenders_racing_with_large_commits_at_the_same_seq_exactly_one_wins_and_its_rows_are_read()
    {
        for (var round = 0; round < 3; round++)
        {
            var did = NewDid();
            await Log.AppendAsync(did, Batch(did, 1, 1));
            var attempts = new[] { Batch(did, 2, 120, tag: "a", sharedPath: "nodes/shared"), Batch(did, 2, 140, tag: "b", sharedPath: "nodes/shared") };
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

            var winner = attempts[Array.IndexOf(outcomes, true)];
            Assert.Equal(1, outcomes.Count(o => o));
            Assert.Equal(new LogBounds(1, winner.Commit.ToSeq), await Log.GetBoundsAsync(did));
            var page = await Log.ReadAsync(did, 1, 1000);
            Assert.Equal(winner.Updates, page.Updates);
            Assert.Equal(winner.Commit, Assert.Single(page.Commits));
            Assert.Equal(winner.Documents[^1].Json, (await Log.ReadDocumentAsync(did, "nodes/shared"))!.Json);
            var loser = attempts[Array.IndexOf(outcomes, false)];
            Assert.Empty(await Log.FindUpdatesAsync(did, [.. loser.Updates.Select(u => u.UpdateId)]));
            Assert.Equal(1 + winner.Updates.Count + 1, (await ToListAsync(Log.ReadLeavesAsync(did))).Count);
        }
    }

    [Fact]
    public async Task A_projection_interrupted_after_the_commit_is_completed_by_the_next_reader()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 1, documents: [Change("nodes/kept", """{"v":"old"}""", 1), Change("nodes/gone", """{"v":1}""", 1)]));
        var changes = Enumerable.Range(0, 150).Select(i => Change($"nodes/p{i}", $$"""{"i":{{i}}}""", 2 + i)).ToList();
        changes.Add(Change("nodes/kept", """{"v":"new"}""", 151));
        changes.Add(Change("nodes/gone", null, 151));
        var large = Batch(did, 2, 150, documents: changes);

        // Every projection step (a transaction moving the head without committing an attempt) dies: the commit stays acknowledged.
        fixture.Requests.FailWhen = body => body.Contains("\"Cursor\"", StringComparison.Ordinal) && !body.Contains("\"Committed\"", StringComparison.Ordinal);
        await Log.AppendAsync(did, large);
        fixture.Requests.FailWhen = null;
        Assert.True(fixture.Requests.Failed > 0);
        var head = (await fixture.Table.GetEntityAsync<TableEntity>(AzureTableKey.EncodeOrHash(did), "h")).Value;
        Assert.Equal(151, head.GetInt64("Last"));
        Assert.Equal(1, head.GetInt64("Projected"));

        // Another process (a fresh log over the same table) reads: it completes the projection first.
        var other = new AzureTableUpdateLog(fixture.Service, fixture.Table.Name);
        Assert.Equal("""{"v":"new"}""", (await other.ReadDocumentAsync(did, "nodes/kept"))!.Json);
        Assert.Null(await other.ReadDocumentAsync(did, "nodes/gone"));
        Assert.Equal(151, (await ToListAsync(other.ReadLeavesAsync(did))).Count);
        Assert.Equal(150, (await other.FindUpdatesAsync(did, [.. large.Updates.Select(u => u.UpdateId)])).Count);
        head = (await fixture.Table.GetEntityAsync<TableEntity>(AzureTableKey.EncodeOrHash(did), "h")).Value;
        Assert.Equal(151, head.GetInt64("Projected"));
        Assert.DoesNotContain(await RowKeysAsync(did), k => k.StartsWith('s') || k.StartsWith('a'));
    }

    [Fact]
    public async Task Documents_past_a_property_and_an_entity_round_trip_and_one_past_a_transaction_is_refused_with_nothing_written()
    {
        var did = NewDid();
        var big = "{\"text\":\"" + string.Concat(Enumerable.Range(0, 1_500_000).Select(i => (char)('a' + (i % 26)))) + "\"}";
        var small = "{\"text\":\"small again\"}";
        await Log.AppendAsync(did, Batch(did, 1, 1, documents: [Change("nodes/big", big, 1), Change("nodes/medium", new string(' ', 100_000) + "{}", 1)]));
        Assert.Equal(big, (await Log.ReadDocumentAsync(did, "nodes/big"))!.Json);
        Assert.Equal(100_002, (await Log.ReadDocumentAsync(did, "nodes/medium"))!.Json.Length);

        // Shrunk to one property: the continuation rows of the larger version are not read into it.
        await Log.AppendAsync(did, Batch(did, 2, 1, documents: [Change("nodes/big", small, 2)]));
        Assert.Equal(small, (await Log.ReadDocumentAsync(did, "nodes/big"))!.Json);
        Assert.Contains(await ToListAsync(Log.ReadDocumentsAsync(did)), d => d.Path == "nodes/big" && d.Json == small);

        var tooBig = "{\"t\":\"" + new string('x', AzureTableUpdateLog.MaxDocumentBytes) + "\"}";
        var refused = await Assert.ThrowsAsync<UpdateLogLimitException>(() => Log.AppendAsync(did, Batch(did, 3, 1, documents: [Change("nodes/huge", tooBig, 3)])));
        Assert.Contains("nodes/huge", refused.Message, StringComparison.Ordinal);
        Assert.Equal(new LogBounds(1, 2), await Log.GetBoundsAsync(did));
        Assert.Null(await Log.ReadDocumentAsync(did, "nodes/huge"));
    }

    [Fact]
    public async Task DIDs_paths_and_update_ids_with_characters_Azure_forbids_in_keys_are_stored_apart_and_exactly()
    {
        var did = "did:web:example.com/a\\b#c?d\u0001é%20" + Guid.NewGuid().ToString("N");
        var paths = new[] { "a/b", "a\\b", "a#b", "a?b", "a\u0001b", "a\tb", "a=2Fb", "a!b", "a'b", "nodes/" + new string('é', 400), "nodes/" + new string('é', 401) };
        var changes = paths.Select((p, i) => Change(p, $$"""{"i":{{i}}}""", 1)).ToList();
        var append = Batch(did, 1, 3, documents: changes);
        append = append with { Updates = [.. append.Updates.Select((u, i) => u with { UpdateId = paths[i] + "#/?" })] };
        await Log.AppendAsync(did, append);

        for (var i = 0; i < paths.Length; i++)
        {
            Assert.Equal($$"""{"i":{{i}}}""", (await Log.ReadDocumentAsync(did, paths[i]))!.Json);
        }

        Assert.Equal(paths.Order(StringComparer.Ordinal), (await ToListAsync(Log.ReadLeavesAsync(did))).Select(l => l.Path).Order(StringComparer.Ordinal));
        Assert.Equal(3, (await Log.FindUpdatesAsync(did, [.. append.Updates.Select(u => u.UpdateId)])).Count);
        Assert.Equal(append.Updates, (await Log.ReadAsync(did, 0, 10)).Updates);
        await Log.DeleteAsync(did);
        Assert.Equal(new LogBounds(1, 0), await Log.GetBoundsAsync(did));
    }

    [Fact]
    public async Task Leaves_are_read_without_the_JSON()
    {
        var did = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 40, jsonBytes: 20_000));
        fixture.Requests.Clear();
        var leaves = await ToListAsync(Log.ReadLeavesAsync(did));
        var leafRequests = fixture.Requests.Sent.Where(r => r.Uri.Contains("RowKey ge 'd'", StringComparison.Ordinal)).ToList();
        fixture.Requests.Clear();
        var documents = await ToListAsync(Log.ReadDocumentsAsync(did));
        var documentRequests = fixture.Requests.Sent.Where(r => r.Uri.Contains("RowKey ge 'd'", StringComparison.Ordinal)).ToList();

        Assert.Equal(40, leaves.Count);
        Assert.Equal(documents.Select(d => Encoding.UTF8.GetByteCount(d.Json)).Order(), leaves.Select(l => l.Size).Order());
        Assert.All(leafRequests, r => Assert.Contains("$select=Path,Value,Size", r.Uri, StringComparison.Ordinal));
        var leafBytes = leafRequests.Sum(r => r.ResponseBytes);
        var documentBytes = documentRequests.Sum(r => r.ResponseBytes);
        Assert.InRange(leafBytes, 1, 40 * 1_000);
        Assert.True(documentBytes > 40 * 20_000, $"documents answered {documentBytes} bytes");
    }

    [Fact]
    public async Task Retention_removes_the_dropped_updates_commits_and_index_entries_from_the_table()
    {
        var did = NewDid();
        var first = Batch(did, 1, 150); // staged
        await Log.AppendAsync(did, first);
        await Log.AppendAsync(did, Batch(did, 151, 5));
        await Log.AppendAsync(did, Batch(did, 156, 5));

        await Log.TruncateAsync(did, 155);
        Assert.Equal(new LogBounds(156, 160), await Log.GetBoundsAsync(did));
        var keys = await RowKeysAsync(did);
        Assert.Equal(5, keys.Count(k => k.StartsWith('u')));
        Assert.Equal(5, keys.Count(k => k.StartsWith('i')));
        Assert.Equal(["c" + 160L.ToString("D19", System.Globalization.CultureInfo.InvariantCulture)], keys.Where(k => k.StartsWith('c')));
        Assert.Equal(160, keys.Count(k => k.StartsWith('d')));
        Assert.Empty(await Log.FindUpdatesAsync(did, [first.Updates[0].UpdateId]));
        Assert.Equal(160, (await ToListAsync(Log.ReadDocumentsAsync(did))).Count);
    }

    [Fact]
    public async Task Deleting_a_DID_leaves_no_row_in_its_partition_and_other_DIDs_untouched()
    {
        var did = NewDid();
        var other = NewDid();
        await Log.AppendAsync(did, Batch(did, 1, 150, jsonBytes: 70_000));
        await Log.AppendAsync(did, Batch(did, 151, 3, documents: [Change("nodes/1", null, 151)]));
        await Log.TruncateAsync(did, 100);
        await Log.AppendAsync(other, Batch(other, 1, 3));

        await Log.DeleteAsync(did);
        Assert.Empty(await RowKeysAsync(did));
        Assert.Equal(new LogBounds(1, 3), await Log.GetBoundsAsync(other));
        Assert.Equal(3, (await ToListAsync(Log.ReadDocumentsAsync(other))).Count);
    }

    private async Task<List<string>> RowKeysAsync(string did)
    {
        var keys = new List<string>();
        await foreach (var row in fixture.Table.QueryAsync<TableEntity>($"PartitionKey eq '{AzureTableKey.EncodeOrHash(did)}'", select: ["RowKey"]))
        {
            keys.Add(row.RowKey);
        }

        return keys;
    }

    private static string NewDid() => "did:key:z6Mk" + Guid.NewGuid().ToString("N");

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static DocumentChange Change(string path, string? json, long seq) =>
        new(path, json, json is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(json)), seq);

    private static LogAppend Batch(string did, long from, int count, string tag = "", int jsonBytes = 0, IReadOnlyList<DocumentChange>? documents = null, string? sharedPath = null)
    {
        var padding = new string('p', jsonBytes);
        var updates = Enumerable.Range(0, count).Select(i => from + i).Select(seq =>
            new LoggedUpdate(seq, $"{did}/u{seq}{tag}", Hash($"hash {seq}{tag}"), Hash($"root {seq}{tag}"), $$"""{"seq":{{seq}},"tag":"{{tag}}","pad":"{{padding}}"}""")).ToList();
        var changes = documents ?? [.. updates.Select(u => Change($"nodes/{u.Seq}", u.Json, u.Seq))];
        if (sharedPath is not null)
        {
            changes = [.. changes, Change(sharedPath, $$"""{"tag":"{{tag}}"}""", from + count - 1)];
        }

        return new LogAppend(updates, new LoggedCommit(from, from + count - 1, $$"""{"fromSeq":{{from}},"toSeq":{{from + count - 1}},"tag":"{{tag}}"}"""), changes);
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}

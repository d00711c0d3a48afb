using System.Security.Cryptography;
using System.Text;
using Vivim.Storage;
using Vivim.Storage.Copy;

namespace Vivim.Tests.Storage;

/// <summary>
/// <see cref="IUpdateLogImport"/> on Azure Table storage: another store's log taken as it is (a retained segment whose
/// first seq is past 1, its commits, its documents) reads back identically and continues at the next seq; a segment
/// that is not a log, or a DID that has a log here, is refused; leftovers of an interrupted import are replaced.
/// </summary>
public sealed class AzureLogImportTests(AzureLogFixture fixture) : IClassFixture<AzureLogFixture>
{
    [Fact]
    public async Task A_retained_segment_reads_back_as_it_was_and_continues_at_the_next_seq()
    {
        var did = "did:key:import-" + Guid.NewGuid().ToString("N");
        var source = new InMemoryUpdateLog();
        await source.AppendAsync(did, Batch(1, 3));
        await source.AppendAsync(did, Batch(4, 2));
        await source.AppendAsync(did, Batch(6, 3));
        await source.TruncateAsync(did, 2);
        var segment = await LogExport.ReadAsync(source, did, CancellationToken.None);
        Assert.Equal(new LogBounds(3, 8), segment.Bounds);
        Assert.Equal(1, segment.Commits[0].FromSeq);

        await fixture.Log.ImportAsync(did, segment);

        var copied = await LogExport.ReadAsync(fixture.Log, did, CancellationToken.None);
        Assert.Equal(LogExport.Digest(segment), LogExport.Digest(copied));
        Assert.Equal(8, (await fixture.Log.FindUpdatesAsync(did, ["u8"]))["u8"].Seq);
        Assert.Empty(await fixture.Log.FindUpdatesAsync(did, ["u2"]));
        await Assert.ThrowsAsync<UpdateLogConflictException>(() => fixture.Log.AppendAsync(did, Batch(8, 1)));
        await fixture.Log.AppendAsync(did, Batch(9, 2));
        Assert.Equal(new LogBounds(3, 10), await fixture.Log.GetBoundsAsync(did));

        // A log is there now: a second import is refused and changes nothing.
        await Assert.ThrowsAsync<UpdateLogConflictException>(() => fixture.Log.ImportAsync(did, segment));
        Assert.Equal(new LogBounds(3, 10), await fixture.Log.GetBoundsAsync(did));
    }

    [Fact]
    public async Task A_segment_that_is_not_a_log_is_refused_before_anything_is_written()
    {
        var did = "did:key:bad-" + Guid.NewGuid().ToString("N");
        var source = new InMemoryUpdateLog();
        await source.AppendAsync(did, Batch(1, 2));
        await source.AppendAsync(did, Batch(3, 2));
        var segment = await LogExport.ReadAsync(source, did, CancellationToken.None);

        var gap = segment with { Updates = [.. segment.Updates.Where(u => u.Seq != 2)] };
        var uncovered = segment with { Commits = [segment.Commits[0]] };
        var split = segment with { Commits = [segment.Commits[1]] };
        foreach (var bad in new[] { gap, uncovered, split })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => fixture.Log.ImportAsync(did, bad));
        }

        Assert.Equal(new LogBounds(1, 0), await fixture.Log.GetBoundsAsync(did));
        Assert.Empty(await RowsAsync(did));
    }

    [Fact]
    public async Task What_an_interrupted_import_left_is_replaced_by_the_next_one()
    {
        var did = "did:key:resume-" + Guid.NewGuid().ToString("N");
        var other = new InMemoryUpdateLog();
        await other.AppendAsync(did, Batch(1, 4, "old"));
        await fixture.Log.ImportAsync(did, await LogExport.ReadAsync(other, did, CancellationToken.None));

        // Rows without a head: what a run cut off before its last step leaves.
        await fixture.Table.DeleteEntityAsync((await RowsAsync(did)).First(r => r.RowKey == "h").PartitionKey, "h");
        Assert.Equal(new LogBounds(1, 0), await fixture.Log.GetBoundsAsync(did));

        var source = new InMemoryUpdateLog();
        await source.AppendAsync(did, Batch(1, 2));
        var segment = await LogExport.ReadAsync(source, did, CancellationToken.None);
        await fixture.Log.ImportAsync(did, segment);
        Assert.Equal(LogExport.Digest(segment), LogExport.Digest(await LogExport.ReadAsync(fixture.Log, did, CancellationToken.None)));
        Assert.Empty(await fixture.Log.FindUpdatesAsync(did, ["u3old", "u4old"]));
    }

    private async Task<List<Azure.Data.Tables.TableEntity>> RowsAsync(string did)
    {
        var rows = new List<Azure.Data.Tables.TableEntity>();
        await foreach (var row in fixture.Table.QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            if (row.PartitionKey == Vivim.Storage.Azure.AzureTableKey.EncodeOrHash(did))
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static LogAppend Batch(long from, int count, string tag = "")
    {
        var updates = Enumerable.Range(0, count).Select(i => from + i).Select(seq =>
            new LoggedUpdate(seq, $"u{seq}{tag}", Hash($"hash {seq}{tag}"), Hash($"root {seq}{tag}"), $$"""{"seq":{{seq}},"tag":"{{tag}}"}""")).ToList();
        var documents = updates.Select(u => new DocumentChange($"nodes/{u.Seq}{tag}", u.Json, SHA256.HashData(Encoding.UTF8.GetBytes(u.Json)), u.Seq)).ToList();
        return new LogAppend(updates, new LoggedCommit(from, from + count - 1, $$"""{"fromSeq":{{from}},"toSeq":{{from + count - 1}}}"""), documents);
    }
}

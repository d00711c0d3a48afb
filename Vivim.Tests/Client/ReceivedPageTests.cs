using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client;

/// <summary>
/// Pages as a clone receives them: update texts packed in one UTF-8 block (what the anchor hands Orleans), parsed on
/// arrival, and verified from the JSON received. Tampering with the text, the commits or the page's shape is refused
/// and leaves the replica where it was.
/// </summary>
public sealed class ReceivedPageTests : IDisposable
{
    private static readonly Serializer OrleansSerializer =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private readonly TestAnchor _anchor = new();
    private readonly FakeTransport _transport;

    public ReceivedPageTests()
    {
        _transport = new FakeTransport(_anchor);
        _anchor.Set(("identity/profile", """{"name":"Ada"}"""), ("nodes/laptop", """{"os":"linux"}"""));
        _transport.SnapshotOverride = _anchor.Snapshot();
        _anchor.Set(("memoryIndex/notes/1", """{"text":"é ✓ one","n":1.50}"""), ("apps/chat", """{"enabled":true}"""));
        _anchor.Commit((UpdateOperation.Delete, "nodes/laptop", null));
    }

    public void Dispose() => _anchor.Dispose();

    private async Task<SyncProtocol> AtSnapshotAsync()
    {
        var protocol = new SyncProtocol(_anchor.Did, new SyncConfig(AutoSync: false), _transport, new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1) });
        await protocol.LoadSnapshotAsync(_transport.SnapshotOverride!);
        Assert.Equal(2, protocol.Replica.Cursor);
        return protocol;
    }

    private static async Task<SyncVerificationException> AssertRefusedAsync(SyncProtocol protocol, string code)
    {
        var root = protocol.Replica.Root;
        var error = await Assert.ThrowsAsync<SyncVerificationException>(() => protocol.SyncNowAsync());
        Assert.Equal(code, error.Code);
        Assert.Equal(2, protocol.Replica.Cursor);
        Assert.Equal(root, protocol.Replica.Root);
        Assert.False(protocol.Replica.TryGetDocument("memoryIndex/notes/1", out _));
        return error;
    }

    private static IReadOnlyList<StoredUpdate> Edit(IReadOnlyList<StoredUpdate> texts, long seq, string from, string to) =>
        [.. texts.Select(u => u.Seq == seq ? u with { Json = Replaced(u.Json, from, to) } : u)];

    private static string Replaced(string text, string from, string to)
    {
        Assert.Contains(from, text, StringComparison.Ordinal);
        return text.Replace(from, to, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Received_pages_apply_to_the_anchors_root_and_each_update_is_checked_from_its_received_json()
    {
        await using var protocol = await AtSnapshotAsync();
        var applied = new List<StateUpdate>();
        protocol.UpdateApplied += (_, e) => applied.Add(e.Update);

        Assert.Equal(3, await protocol.SyncNowAsync());

        Assert.Equal((_anchor.Head, _anchor.RootHex), (protocol.Replica.Cursor, protocol.Replica.Root));
        Assert.Equal(_anchor.Documents.OrderBy(d => d.Key), protocol.Replica.GetDocuments().OrderBy(d => d.Key));
        Assert.All(applied, u => Assert.True(ReceivedUpdates.TryGet(u, out var received) && received.SigningBytes is not null && received.Json is null));

        // A copy of a record is not vouched for by the JSON its original came in.
        Assert.False(ReceivedUpdates.TryGet(applied[0] with { Data = new RawJson("""{"forged":true}""") }, out _));
    }

    [Fact]
    public async Task A_changed_update_text_is_refused()
    {
        await using var protocol = await AtSnapshotAsync();
        _transport.TextFilter = texts => Edit(texts, 3, "\"n\":1.5", "\"n\":1.25");

        var error = await AssertRefusedAsync(protocol, VerificationCodes.UpdateHash);
        Assert.Equal(3, error.Update!.Seq);
    }

    [Fact]
    public async Task A_changed_path_in_the_text_is_refused()
    {
        await using var protocol = await AtSnapshotAsync();
        _transport.TextFilter = texts => Edit(texts, 4, "\"apps/chat\"", "\"apps/chet\"");

        await AssertRefusedAsync(protocol, VerificationCodes.UpdateHash);
    }

    [Fact]
    public async Task A_changed_merkle_proof_in_the_text_is_refused()
    {
        await using var protocol = await AtSnapshotAsync();
        // merkleProof is outside the update hash: only the proof check sees this.
        _transport.TextFilter = texts =>
        {
            var other = ProtocolModel.Parse<StateUpdate>(System.Text.Encoding.UTF8.GetBytes(texts[1].Json)).MerkleProof;
            var mine = ProtocolModel.Parse<StateUpdate>(System.Text.Encoding.UTF8.GetBytes(texts[0].Json)).MerkleProof;
            return Edit(texts, 3, mine, other);
        };

        await AssertRefusedAsync(protocol, VerificationCodes.MerkleProof);
    }

    [Fact]
    public async Task A_missing_update_is_refused()
    {
        await using var protocol = await AtSnapshotAsync();
        _transport.TextFilter = texts => [.. texts.Where(u => u.Seq != 4)];

        await AssertRefusedAsync(protocol, VerificationCodes.Order);
    }

    [Fact]
    public async Task A_commit_with_a_wrong_root_is_refused()
    {
        await using var protocol = await AtSnapshotAsync();
        _transport.PageFilter = page => page with
        {
            Commits = [.. page.Commits.Select(c => c.FromSeq == 5 ? c with { Roots = [new string('c', 64)], Root = new string('c', 64) } : c)],
        };

        await AssertRefusedAsync(protocol, VerificationCodes.CommitSignature);

        // Signed by the parent yet wrong: the clone's own tree disagrees.
        _transport.PageFilter = page => page with
        {
            Commits = [.. page.Commits.Select(c => c.FromSeq == 5 ? TestAnchor.SignCommit(c with { Roots = [new string('c', 64)], Root = new string('c', 64) }, _anchor.Parent) : c)],
        };

        await AssertRefusedAsync(protocol, VerificationCodes.Root);
    }

    [Fact]
    public async Task A_commit_with_a_wrong_signature_is_refused()
    {
        await using var protocol = await AtSnapshotAsync();
        _transport.PageFilter = page => page with
        {
            Commits = [.. page.Commits.Select(c => c.FromSeq == 3 ? c with { Proof = c.Proof! with { Signature = new string('0', 128) } } : c)],
        };

        await AssertRefusedAsync(protocol, VerificationCodes.CommitSignature);
    }

    [Fact]
    public async Task Records_without_their_received_json_are_still_verified()
    {
        _transport.AsRecords = true;
        await using var protocol = await AtSnapshotAsync();
        _transport.PageFilter = page => page with { Updates = [.. page.Updates.Select(u => u.Seq == 4 ? u with { Data = new RawJson("""{"enabled":false}""") } : u)] };
        await AssertRefusedAsync(protocol, VerificationCodes.UpdateHash);

        _transport.PageFilter = null;
        Assert.Equal(3, await protocol.SyncNowAsync());
        Assert.Equal((_anchor.Head, _anchor.RootHex), (protocol.Replica.Cursor, protocol.Replica.Root));
    }

    // A page long enough to be parsed and checked on every core, its last update the bad one: the refusal still waits
    // for every check and reports the update it is about, and nothing of the page is applied.
    private async Task<SyncProtocol> AtSnapshotWithLongPageAsync(bool verifyAuthors)
    {
        _anchor.Commit([.. Enumerable.Range(0, 100).Select(i => (UpdateOperation.Create, $"memoryIndex/notes/long-{i}", (string?)$$"""{"i":{{i}}}"""))]);
        var protocol = new SyncProtocol(_anchor.Did, new SyncConfig(AutoSync: false, MaxBatchSize: 1000), _transport, new SyncOptions { VerifyAuthorSignatures = verifyAuthors, ReconcileInterval = TimeSpan.FromHours(1) });
        await protocol.LoadSnapshotAsync(_transport.SnapshotOverride!);
        return protocol;
    }

    [Fact]
    public async Task A_bad_author_signature_last_in_a_long_page_is_refused_and_nothing_of_the_page_applies()
    {
        await using var protocol = await AtSnapshotWithLongPageAsync(verifyAuthors: true);
        var last = _anchor.Head;

        // The proof is outside the update hash, so the commit still vouches for the update: only the author check sees it.
        _transport.TextFilter = texts =>
        {
            var signature = ProtocolModel.Parse<StateUpdate>(System.Text.Encoding.UTF8.GetBytes(texts[^1].Json)).Proof!.Signature;
            return Edit(texts, last, signature, (signature[0] == '0' ? "1" : "0") + signature[1..]);
        };

        var error = await AssertRefusedAsync(protocol, VerificationCodes.AuthorSignature);
        Assert.Equal(last, error.Update!.Seq);

        _transport.TextFilter = null;
        Assert.Equal(103, await protocol.SyncNowAsync());
        Assert.Equal((_anchor.Head, _anchor.RootHex), (protocol.Replica.Cursor, protocol.Replica.Root));
    }

    [Fact]
    public async Task A_changed_text_last_in_a_long_page_is_refused_as_that_update()
    {
        await using var protocol = await AtSnapshotWithLongPageAsync(verifyAuthors: false);
        var last = _anchor.Head;
        _transport.TextFilter = texts => Edit(texts, last, "\"i\":99", "\"i\":98");

        var error = await AssertRefusedAsync(protocol, VerificationCodes.UpdateHash);
        Assert.Equal(last, error.Update!.Seq);
    }

    [Fact]
    public async Task A_long_page_parsed_on_every_core_fails_as_its_first_bad_update()
    {
        await using var protocol = await AtSnapshotWithLongPageAsync(verifyAuthors: false);

        // The 70th update is not JSON, the last has a member no update has: parsed in order, the first fails first.
        _transport.TextFilter = texts =>
        [
            .. texts.Select((u, i) => i == 70 ? u with { Json = u.Json[..^1] } : i == texts.Count - 1 ? u with { Json = u.Json[..^1] + ",\"extra\":1}" } : u),
        ];

        var root = protocol.Replica.Root;
        await Assert.ThrowsAsync<Vivim.Protocol.Json.JsonFormatException>(() => protocol.SyncNowAsync());
        Assert.Equal((2, root), (protocol.Replica.Cursor, protocol.Replica.Root));
    }

    [Fact]
    public void A_packed_page_keeps_each_text_and_seq_and_crosses_orleans_as_it_was()
    {
        var page = _anchor.Page(0, 100);
        StoredUpdateList updates = [.. page.Updates.Select(u => new StoredUpdate(u.Seq!.Value, ProtocolModel.ToJson(u)))];
        var stored = new StoredUpdatePage(updates, page.Commits, page.HeadSeq);

        var copy = OrleansSerializer.Deserialize<StoredUpdatePage>(OrleansSerializer.SerializeToArray(stored))!;

        Assert.Equal(page.Updates.Count, copy.Updates.Count);
        for (var i = 0; i < page.Updates.Count; i++)
        {
            Assert.Equal(page.Updates[i].Seq, copy.Updates.SeqAt(i));
            Assert.Equal(ProtocolModel.ToJson(page.Updates[i]), copy.Updates[i].Json);
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(copy.Updates[i].Json), copy.Updates.Utf8(i).ToArray());
        }

        Assert.Equal(page.Updates[^1].Seq, copy.LastSeq);
        Assert.Equal(page.Commits.Count, copy.Commits.Count);
        Assert.Equal(page.HeadSeq, copy.HeadSeq);
        Assert.Equal(page.Updates.Select(ProtocolModel.ToJson), copy.Parse().Updates.Select(ProtocolModel.ToJson));
        Assert.Empty(OrleansSerializer.Deserialize<StoredUpdatePage>(OrleansSerializer.SerializeToArray(new StoredUpdatePage([], [], 7, ResyncRequired: true)))!.Updates);
    }
}

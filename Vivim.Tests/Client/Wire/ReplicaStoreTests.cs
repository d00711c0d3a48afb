using System.Text;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Protocol.Model;

namespace Vivim.Tests.Client.Wire;

/// <summary>The clone's replica on disk: saved atomically, reloaded exactly, resumed from, and refused when damaged.</summary>
public sealed class ReplicaStoreTests : IDisposable
{
    private readonly TestAnchor _anchor = new();
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("vivim-replica-");

    public void Dispose()
    {
        _anchor.Dispose();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task A_saved_replica_reloads_with_the_same_cursor_root_and_documents()
    {
        var replica = await SyncedReplicaAsync();
        var store = new ReplicaStore(_directory.FullName);
        store.Save(replica, _anchor.Did);

        var loaded = store.Load(_anchor.Did);

        Assert.NotNull(loaded);
        Assert.Null(store.LastLoadProblem);
        Assert.Equal(_anchor.Head, loaded.Cursor);
        Assert.Equal(_anchor.RootHex, loaded.Root);
        Assert.Equal(replica.GetDocuments().OrderBy(d => d.Key), loaded.GetDocuments().OrderBy(d => d.Key));
        Assert.Equal(replica.ToState().ToJsonString(), loaded.ToState().ToJsonString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.ReplicaPath));
        }
    }

    [Fact]
    public async Task A_clone_restarted_from_disk_resumes_from_its_cursor_without_a_snapshot()
    {
        var store = new ReplicaStore(_directory.FullName);
        store.Save(await SyncedReplicaAsync(), _anchor.Did);
        var savedAt = _anchor.Head;
        _anchor.Set(("memoryIndex/notes/late", """{"n":99}"""));

        var transport = new FakeTransport(_anchor) { SnapshotOverride = null };
        await using var restarted = new SyncProtocol(_anchor.Did, new SyncConfig(AutoSync: false), transport, new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1) }, store.Load(_anchor.Did));
        var applied = await restarted.SyncNowAsync();

        Assert.Equal(1, applied); // only what came after the saved cursor
        Assert.Equal(savedAt, transport.PageRequests[0].AfterSeq);
        Assert.Equal(_anchor.RootHex, restarted.Replica.Root);
    }

    [Fact]
    public async Task A_torn_file_is_set_aside_and_not_loaded()
    {
        var store = new ReplicaStore(_directory.FullName);
        store.Save(await SyncedReplicaAsync(), _anchor.Did);
        var bytes = File.ReadAllBytes(store.ReplicaPath);
        File.WriteAllBytes(store.ReplicaPath, bytes[..(bytes.Length / 2)]);

        Assert.Null(store.Load(_anchor.Did));
        Assert.Contains("checksum", store.LastLoadProblem, StringComparison.Ordinal);
        Assert.False(File.Exists(store.ReplicaPath));
        Assert.True(File.Exists(store.ReplicaPath + ".corrupt"));
    }

    [Fact]
    public async Task A_document_altered_behind_a_valid_checksum_fails_the_root_check()
    {
        var store = new ReplicaStore(_directory.FullName);
        store.Save(await SyncedReplicaAsync(), _anchor.Did);
        var text = File.ReadAllText(store.ReplicaPath);
        var body = text[(text.IndexOf('\n', StringComparison.Ordinal) + 1)..].Replace("\"n\":2", "\"n\":3", StringComparison.Ordinal);
        var checksum = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        File.WriteAllText(store.ReplicaPath, $"vivim-replica/1 sha256={checksum}\n{body}");

        Assert.Null(store.Load(_anchor.Did));
        Assert.Contains("root", store.LastLoadProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_of_another_parent_is_not_loaded()
    {
        var store = new ReplicaStore(_directory.FullName);
        store.Save(await SyncedReplicaAsync(), _anchor.Did);
        using var other = new TestAnchor();

        Assert.Null(store.Load(other.Did));
        Assert.Contains(other.Did, store.LastLoadProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_that_dies_midway_leaves_the_previous_replica_intact()
    {
        var store = new ReplicaStore(_directory.FullName);
        store.Save(await SyncedReplicaAsync(), _anchor.Did);
        var before = File.ReadAllBytes(store.ReplicaPath);

        Assert.Throws<IOException>(() => AtomicFile.Write(store.ReplicaPath, stream =>
        {
            stream.Write(before.AsSpan(0, before.Length / 3));
            throw new IOException("disk gone");
        }));

        Assert.Equal(before, File.ReadAllBytes(store.ReplicaPath));
        Assert.Single(Directory.GetFiles(_directory.FullName)); // no temporary file left behind
        Assert.NotNull(store.Load(_anchor.Did));
    }

    [Fact]
    public async Task Auto_save_follows_the_protocol_and_writes_the_last_state_when_disposed()
    {
        var store = new ReplicaStore(_directory.FullName);
        var transport = new FakeTransport(_anchor);
        await using var sync = new SyncProtocol(_anchor.Did, new SyncConfig(AutoSync: false), transport, new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1) });
        var autoSave = store.AutoSave(sync);
        _anchor.Set(("memoryIndex/notes/a", """{"n":1}"""));
        await sync.SyncNowAsync();
        _anchor.Set(("memoryIndex/notes/b", """{"n":2}"""));
        await sync.SyncNowAsync();
        await autoSave.DisposeAsync();

        var loaded = store.Load(_anchor.Did);
        Assert.NotNull(loaded);
        Assert.Equal(_anchor.Head, loaded.Cursor);
        Assert.Equal(_anchor.RootHex, loaded.Root);
        Assert.True(autoSave.Saves >= 1);
    }

    [Fact]
    public void Registration_round_trips_and_clone_ids_become_safe_directory_names()
    {
        var registration = new StoredRegistration("http://localhost:8080", _anchor.Did, "did:key:z6MkABC-1700-xyz", "did:key:z6MkCLONE", 1700, null);
        registration.Save(_directory.FullName);

        Assert.Equal(registration, StoredRegistration.Load(_directory.FullName));
        Assert.Equal("did_key_z6MkABC-1700-xyz", StoredRegistration.DirectoryNameOf(registration.CloneId));
    }

    private async Task<CloneReplica> SyncedReplicaAsync()
    {
        _anchor.Set(("identity/profile", """{"name":"Ada"}"""));
        _anchor.Set(("memoryIndex/notes/1", """{"n":1}"""), ("contentManifest/posts/1", """{"cid":"bafy"}"""));
        _anchor.Set(("memoryIndex/notes/2", """{"n":2}"""));
        var transport = new FakeTransport(_anchor);
        await using var sync = new SyncProtocol(_anchor.Did, new SyncConfig(AutoSync: false), transport, new SyncOptions { ReconcileInterval = TimeSpan.FromHours(1) });
        await sync.SyncNowAsync();
        Assert.Equal(_anchor.Head, sync.Replica.Cursor);
        return sync.Replica;
    }
}

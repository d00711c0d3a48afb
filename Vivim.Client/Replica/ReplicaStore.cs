using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vivim.Client.Sync;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;

namespace Vivim.Client.Replica;

/// <summary>
/// A clone's replica on disk (<c>replica.json</c> in one directory per clone): the parent DID, the identity, the
/// cursor, the v2 root and every document. Written atomically; the first line carries the SHA-256 of the rest, and on
/// load the documents must rebuild the stored root — a file that fails either check is set aside and not loaded, so
/// the clone takes a fresh snapshot instead of resuming from something wrong.
/// </summary>
public sealed class ReplicaStore
{
    public const string FileName = "replica.json";
    private const string Magic = "vivim-replica/1";

    public ReplicaStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    public string ReplicaPath => Path.Combine(Directory, FileName);

    /// <summary>Why the last <see cref="Load"/> refused the file on disk (null when it loaded or there was none).</summary>
    public string? LastLoadProblem { get; private set; }

    /// <summary>Writes what the replica has committed.</summary>
    public void Save(CloneReplica replica, string parentDid)
    {
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentException.ThrowIfNullOrEmpty(parentDid);
        var image = replica.Capture();
        if (!image.IsInitialized)
        {
            return; // nothing verified yet: nothing worth resuming from
        }

        var body = Serialize(image, parentDid);
        var header = Encoding.ASCII.GetBytes($"{Magic} sha256={Hex.Encode(SHA256.HashData(body))}\n");
        AtomicFile.Write(ReplicaPath, stream =>
        {
            stream.Write(header);
            stream.Write(body);
        });
    }

    /// <summary>
    /// The replica saved for <paramref name="parentDid"/>, or null when there is none or it does not check out (then
    /// <see cref="LastLoadProblem"/> says why and the file is renamed to <c>replica.json.corrupt</c>).
    /// </summary>
    public CloneReplica? Load(string parentDid)
    {
        ArgumentException.ThrowIfNullOrEmpty(parentDid);
        LastLoadProblem = null;
        if (!File.Exists(ReplicaPath))
        {
            return null;
        }

        try
        {
            return Read(File.ReadAllBytes(ReplicaPath), parentDid);
        }
        catch (Exception e) when (e is FormatException or ProtocolException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            LastLoadProblem = e.Message;
            File.Move(ReplicaPath, ReplicaPath + ".corrupt", overwrite: true);
            return null;
        }
    }

    public void Delete()
    {
        File.Delete(ReplicaPath);
    }

    /// <summary>Saves after every sync pass that moved the replica, in the background, and once more when disposed.</summary>
    public ReplicaAutoSave AutoSave(SyncProtocol sync) => new(this, sync);

    private static byte[] Serialize(CloneReplica.ReplicaImage image, string parentDid)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("parentDid", parentDid);
            writer.WriteString("did", image.Did);
            writer.WriteString("publicKey", image.PublicKeyHex);
            writer.WriteNumber("cursor", image.Cursor);
            writer.WriteString("root", image.Root);
            writer.WriteStartObject("documents");
            foreach (var (path, document) in image.Documents.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                writer.WritePropertyName(path);
                writer.WriteRawValue(document.Text ?? "null", skipInputValidation: true); // already JSON.stringify text
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static CloneReplica Read(byte[] file, string parentDid)
    {
        var newline = Array.IndexOf(file, (byte)'\n');
        if (newline < 0)
        {
            throw new FormatException("The replica file has no header.");
        }

        var header = Encoding.ASCII.GetString(file, 0, newline).Split(' ');
        if (header.Length != 2 || header[0] != Magic || !header[1].StartsWith("sha256=", StringComparison.Ordinal))
        {
            throw new FormatException("The replica file's header is not " + Magic + ".");
        }

        var body = file.AsSpan(newline + 1);
        if (!string.Equals(Hex.Encode(SHA256.HashData(body)), header[1]["sha256=".Length..], StringComparison.Ordinal))
        {
            throw new FormatException("The replica file's checksum does not match (a torn or altered write).");
        }

        var json = ProtocolJson.ParseObject(body, JsonLimits.Snapshot);
        if (!string.Equals(Text(json, "parentDid"), parentDid, StringComparison.Ordinal))
        {
            throw new FormatException($"The replica on disk is of {Text(json, "parentDid")}, not {parentDid}.");
        }

        var documents = new Dictionary<string, RawJson>(StringComparer.Ordinal);
        var values = new List<KeyValuePair<string, byte[]>>();
        foreach (var (path, document) in json["documents"] as JsonObject ?? throw new FormatException("The replica has no documents."))
        {
            var raw = RawJson.From(document, JsonLimits.Snapshot);
            documents[path] = raw;
            values.Add(new(path, StateRules.DocumentValue(raw, JsonLimits.Snapshot)));
        }

        var tree = SparseMerkleTree.BuildFromPaths(values);
        var root = Text(json, "root");
        if (!string.Equals(tree.RootHex, root, StringComparison.Ordinal))
        {
            throw new FormatException("The replica's documents do not rebuild its root.");
        }

        var cursor = json["cursor"] is JsonValue c ? JavaScriptJson.ToDouble(c) : -1;
        if (cursor < 0 || cursor != Math.Floor(cursor))
        {
            throw new FormatException("The replica's cursor is not a non-negative integer.");
        }

        var replica = new CloneReplica();
        replica.Load(Text(json, "did"), Text(json, "publicKey"), documents, tree, (long)cursor);
        return replica;
    }

    private static string Text(JsonObject json, string member) =>
        json[member] is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new FormatException($"The replica has no \"{member}\".");
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Tests.Support;

/// <summary>Builds StateUpdates as an author would send them: v1 and v2 signed JSON text.</summary>
public static class SignedUpdates
{
    public static KeyVault TestVault { get; } = new(Options.Create(new KeyVaultOptions
    {
        ActiveKeyId = "test",
        Keys = { ["test"] = ClusterFixture.TestKek },
    }));

    public static string Create(
        SigningKey author,
        string path,
        JsonNode? data,
        UpdateOperation operation = UpdateOperation.Create,
        string cloneId = "",
        long? baseSeq = null,
        long? timestamp = null,
        string? updateId = null) =>
        JavaScriptJson.Stringify(CreateJson(author, path, data, operation, cloneId, baseSeq, timestamp, updateId));

    public static JsonObject CreateJson(
        SigningKey author,
        string path,
        JsonNode? data,
        UpdateOperation operation = UpdateOperation.Create,
        string cloneId = "",
        long? baseSeq = null,
        long? timestamp = null,
        string? updateId = null)
    {
        var update = new StateUpdate(
            UpdateId: updateId ?? Guid.NewGuid().ToString(),
            Type: TypeOf(path),
            Timestamp: timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            SourceDid: author.Did.Value,
            SourceCloneId: cloneId,
            Operation: operation,
            Path: path,
            Data: RawJson.From(data),
            MerkleProof: string.Empty,
            Signature: string.Empty,
            BaseSeq: baseSeq);
        var json = ProtocolModel.ToJsonObject(update);
        SignatureV1.SignInPlace(author, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(author, SignedKind.StateUpdate, json);
        return json;
    }

    public static UpdateType TypeOf(string path) => path[..path.IndexOf('/', StringComparison.Ordinal)] switch
    {
        "identity" => UpdateType.Identity,
        "nodes" => UpdateType.Node,
        "apps" => UpdateType.App,
        "contentManifest" => UpdateType.Content,
        "socialGraph" => UpdateType.Social,
        _ => UpdateType.Memory,
    };
}

using System.Text.Json.Nodes;
using Orleans.Runtime;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Keys;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

/// <summary>Creating exit nodes and walking the SDK's registration round trip from a test.</summary>
internal static class ExitNodeTestKit
{
    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static string NewNonce() => Guid.NewGuid().ToString("N");

    public static async Task<(SigningKey Key, IExitNodeGrain Node, ExitNodeAdvertisement Advertisement)> CreateNodeAsync(
        IGrainFactory grains,
        ExitNodePolicy? policy = null,
        IReadOnlyList<string>? defaultPermissions = null)
    {
        var key = SigningKey.Generate();
        var node = grains.GetGrain<IExitNodeGrain>(key.Did.Value);
        var advertisement = await node.CreateAsync(new ExitNodeSetup(
            new SecretSeed(key.ExportSeed()), "tenant-" + Guid.NewGuid().ToString("N"), Policy: policy, DefaultPermissions: defaultPermissions));
        return (key, node, advertisement);
    }

    public static CloneRegistrationRequest Request(SigningKey clone, string nonce, long? timestamp = null, MigrationType? migration = null) =>
        new(clone.Did.Value, ["memory"], PreferredNetwork.Mainnet, IdentityProof: string.Empty, timestamp ?? Now, nonce, MigrationType: migration);

    /// <summary>The clone's v1 identity proof: its signature of <c>{challenge, nonce}</c>.</summary>
    public static string IdentityProof(SigningKey signer, string challenge, string nonce) =>
        SignatureV1.Sign(signer, new JsonObject { ["challenge"] = challenge, ["nonce"] = nonce }, SignatureV1.IdentityProofFields);

    /// <summary>The whole round trip: ask, get a challenge, answer it.</summary>
    public static async Task<CloneRegistrationResponse> RegisterAsync(IExitNodeGrain node, SigningKey clone, MigrationType? migration = null)
    {
        var nonce = NewNonce();
        var first = await node.RegisterAsync(Request(clone, nonce, migration: migration));
        Assert.Equal(DenialReasons.ChallengeRequired, first.DenialReason);
        var challenge = first.Challenge!.Challenge;
        return await node.RegisterAsync(Request(clone, nonce, migration: migration) with
        {
            ChallengeResponse = challenge,
            IdentityProof = IdentityProof(clone, challenge, nonce),
        });
    }

    public static async Task<string> RegisterApprovedAsync(IExitNodeGrain node, SigningKey clone, MigrationType? migration = null)
    {
        var response = await RegisterAsync(node, clone, migration);
        Assert.True(response.Approved, response.DenialReason);
        return response.CloneId;
    }

    /// <summary>An update signed by <paramref name="author"/> (v1 and v2), as a clone would submit it.</summary>
    public static string SignedUpdate(SigningKey author, string cloneId, string path, JsonNode data, UpdateOperation operation = UpdateOperation.Create)
    {
        var update = new StateUpdate(
            Guid.NewGuid().ToString(), UpdateType.Memory, Now, author.Did.Value, cloneId, operation, path, RawJson.From(data), string.Empty, string.Empty);
        var json = ProtocolModel.ToJsonObject(update);
        SignatureV1.SignInPlace(author, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(author, SignedKind.StateUpdate, json);
        return ProtocolModel.ToJson(ProtocolModel.FromJsonObject<StateUpdate>(json));
    }

    /// <summary>Listens to the DID's anchor; the task completes with the first <see cref="CloneAccessRevoked"/> pushed.</summary>
    internal static async Task<Task<CloneAccessRevoked>> ListenForRevocationAsync(IClusterClient client, string did)
    {
        var listener = PushedEvents.Create(client);
        await listener.ListenAsync(client.GetGrain<IAnchorStateGrain>(did));
        return Revoked();

        async Task<CloneAccessRevoked> Revoked()
        {
            using (listener)
            {
                return await listener.WaitForAsync<CloneAccessRevoked>(_ => true, "a revocation");
            }
        }
    }
}

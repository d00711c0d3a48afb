using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Client.Registration;

/// <summary>
/// The SDK's registration, whatever carries it: discover and verify the advertisement, get a challenge, prove the
/// clone's identity (v1 signature of <c>{challenge, nonce}</c>), register, and check the trust proof and the initial
/// snapshot (v1 and v2 signatures, v1 and v2 roots) under the exit node's key.
/// </summary>
public static class CloneRegistrationFlow
{
    /// <exception cref="CloneRegistrationException">The exit node denied the registration.</exception>
    public static async Task<CloneRegistrationResult> RunAsync(IExitNodeChannel exitNode, string did, SigningKey cloneKey, IReadOnlyList<string>? desiredCapabilities, MigrationType? migrationType, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exitNode);
        ArgumentNullException.ThrowIfNull(cloneKey);
        ArgumentNullException.ThrowIfNull(time);
        var advertisement = await exitNode.GetAdvertisementAsync(did, cancellationToken).ConfigureAwait(false);
        var nonce = Guid.NewGuid().ToString();
        var challenge = await exitNode.RequestChallengeAsync(did, cloneKey.Did.Value, nonce, cancellationToken).ConfigureAwait(false);
        var proof = SignatureV1.Sign(cloneKey, new JsonObject { ["challenge"] = challenge.Challenge, ["nonce"] = nonce }, SignatureV1.IdentityProofFields);
        var request = new CloneRegistrationRequest(
            cloneKey.Did.Value,
            desiredCapabilities ?? [.. advertisement.Capabilities],
            PreferredNetwork.Mainnet,
            proof,
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            nonce,
            ChallengeResponse: challenge.Challenge,
            MigrationType: migrationType);
        var response = await exitNode.RegisterAsync(did, request, cancellationToken).ConfigureAwait(false);
        if (!response.Approved)
        {
            throw new CloneRegistrationException(response.DenialReason ?? "denied", $"The exit node denied the registration: {response.DenialReason}");
        }

        var parentKey = DidKey.Parse(did).PublicKey.ToArray();
        if (response.TrustProof is not { } trust)
        {
            throw new CloneRegistrationException("no-trust-proof", "The approval carries no trust proof.");
        }

        var trustJson = ProtocolModel.ToJsonObject(trust);
        if (!Verifies(() => SignatureV1.Verify(SignedKind.TrustProof, trustJson, parentKey) && SignatureV2.Verify(SignedKind.TrustProof, trustJson, parentKey))
            || trust.Issuer != did || trust.Target != cloneKey.Did.Value)
        {
            throw new CloneRegistrationException("trust-proof", "The trust proof is not the exit node's statement about this clone.");
        }

        if (response.InitialState is not { } snapshot)
        {
            throw new CloneRegistrationException("no-snapshot", "The approval carries no initial state.");
        }

        var check = SnapshotCheck.Run(snapshot, did);
        if (!check.V1Signature || !check.V1Root || !check.V2Signature)
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotSignature, $"The initial snapshot does not verify ({check}).");
        }

        return new CloneRegistrationResult(advertisement, response, check);
    }

    private static bool Verifies(Func<bool> check)
    {
        try
        {
            return check();
        }
        catch (ProtocolException)
        {
            return false;
        }
    }
}

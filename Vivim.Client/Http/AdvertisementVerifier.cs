using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Client.Http;

/// <summary>
/// Checks an exit node's advertisement on the JSON as received: it is for the DID asked about, its v2 proof verifies
/// under that DID's key, and its nested <c>anchorState</c> (the only part SDK 1.x can check) carries a valid v1
/// signature — and v2 proof, when present — by the same key, for the same DID.
/// </summary>
public static class AdvertisementVerifier
{
    /// <exception cref="AdvertisementVerificationException">Anything does not hold.</exception>
    public static ExitNodeAdvertisement Verify(JsonObject json, string expectedDid)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrEmpty(expectedDid);
        try
        {
            var key = DidKey.Parse(expectedDid).PublicKey.ToArray();
            var advertisement = ProtocolModel.FromJsonObject<ExitNodeAdvertisement>(json);
            if (!string.Equals(advertisement.Did, expectedDid, StringComparison.Ordinal))
            {
                throw new AdvertisementVerificationException($"The advertisement is for {advertisement.Did}, not {expectedDid}.");
            }

            if (!SignatureV2.Verify(SignedKind.ExitNodeAdvertisement, json, key))
            {
                throw new AdvertisementVerificationException("The advertisement's v2 proof does not verify under its DID's key.");
            }

            var anchorState = json["anchorState"] as JsonObject ?? throw new AdvertisementVerificationException("The advertisement has no anchorState.");
            if (!string.Equals(advertisement.AnchorState.Did, expectedDid, StringComparison.Ordinal))
            {
                throw new AdvertisementVerificationException("The advertisement's anchorState is for another DID.");
            }

            if (!SignatureV1.Verify(SignedKind.AnchorState, anchorState, key))
            {
                throw new AdvertisementVerificationException("The anchorState's v1 signature does not verify under the DID's key.");
            }

            if (anchorState["proof"] is not null && !SignatureV2.Verify(SignedKind.AnchorState, anchorState, key))
            {
                throw new AdvertisementVerificationException("The anchorState's v2 proof does not verify under the DID's key.");
            }

            return advertisement;
        }
        catch (ProtocolException e)
        {
            throw new AdvertisementVerificationException($"The advertisement cannot be verified: {e.Message}", e);
        }
    }
}

/// <summary>An exit node's advertisement is not what its DID signed.</summary>
public sealed class AdvertisementVerificationException(string message, Exception? inner = null) : Exception(message, inner);

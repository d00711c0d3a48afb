using System.Text.Json.Nodes;
using Vivim.Protocol.Model;

namespace Vivim.Gateway.Api;

/// <summary>
/// The bound of every field a caller sends, checked before any grain work or logging: the body caps alone let one
/// field be 64 KiB, which then travels into grains, state and log lines. docs/operations.md lists these.
/// </summary>
public static class RequestBounds
{
    /// <summary>DIDs in routes and bodies (a did:key is 56 characters).</summary>
    public const int MaxDidChars = 128;

    /// <summary>Clone, tenant, key and update ids.</summary>
    public const int MaxIdChars = 128;

    public const int MaxNonceChars = Vivim.Storage.NonceRules.MaxNonceLength;

    /// <summary>Identity proofs and challenge answers (an Ed25519 signature in base64url is 86 characters).</summary>
    public const int MaxProofChars = 512;

    public const int MaxCapabilities = 16;

    public const int MaxCapabilityChars = 64;

    /// <summary>Page cursors handed out by list routes.</summary>
    public const int MaxCursorChars = 512;

    /// <summary>Route values and their bounds; a value outside them never reaches a grain.</summary>
    private static readonly (string Name, int Max)[] RouteValues =
    [
        ("did", MaxDidChars), ("cloneId", MaxIdChars), ("tenantId", MaxIdChars), ("keyId", MaxIdChars),
    ];

    /// <summary>Refuses route values that are empty, too long or not printable ASCII (400 <c>invalid-request</c>).</summary>
    public static void CheckRoute(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var (name, max) in RouteValues)
        {
            if (context.Request.RouteValues.TryGetValue(name, out var value) && value is string text)
            {
                Check(name, text, max);
            }
        }

        if (context.Request.Query.TryGetValue("cursor", out var cursor) && cursor.Count > 0)
        {
            Check("cursor", cursor.ToString(), MaxCursorChars);
        }
    }

    /// <summary>A DID taken from a request (route or body).</summary>
    public static string Did(string? did, string name = "did")
    {
        Check(name, did, MaxDidChars);
        return did!;
    }

    /// <summary>A clone, tenant, key or update id taken from a request body (the libp2p protocols name clones in the body).</summary>
    public static string Id(string? id, string name)
    {
        Check(name, id, MaxIdChars);
        return id!;
    }

    /// <summary>
    /// A registration nonce, bounded as <see cref="Registration"/> bounds it: a challenge issued for a nonce the
    /// registration would refuse is only state for nothing.
    /// </summary>
    public static string Nonce(string? nonce)
    {
        Check("nonce", nonce, MaxNonceChars);
        return nonce!;
    }

    /// <summary>The SDK's registration request, field by field.</summary>
    public static CloneRegistrationRequest Registration(CloneRegistrationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Did(request.Did);
        Nonce(request.Nonce);
        Check("identityProof", request.IdentityProof, MaxProofChars, allowEmpty: true);
        if (request.RequestedCloneId is { } requested)
        {
            Check("requestedCloneId", requested, MaxIdChars);
        }

        if (request.ChallengeResponse is { } answer)
        {
            Check("challengeResponse", answer, MaxProofChars, allowEmpty: true);
        }

        if (request.DesiredCapabilities.Count > MaxCapabilities)
        {
            throw ApiJson.Bad($"'desiredCapabilities' holds at most {MaxCapabilities} entries.");
        }

        foreach (var capability in request.DesiredCapabilities)
        {
            Check("desiredCapabilities[]", capability, MaxCapabilityChars);
        }

        return request;
    }

    /// <summary>A batch's <c>updates</c> array: present, non-empty, and no longer than the anchor accepts (413 before any signing).</summary>
    public static JsonArray Batch(JsonObject body, int maxUpdates)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body["updates"] is not JsonArray array || array.Count == 0)
        {
            throw ApiJson.Bad("'updates' must be a non-empty array.");
        }

        return array.Count <= maxUpdates
            ? array
            : throw new ApiException(StatusCodes.Status413PayloadTooLarge, "too-large", $"A batch holds at most {maxUpdates} updates; this one holds {array.Count}.");
    }

    private static void Check(string name, string? value, int max, bool allowEmpty = false)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (allowEmpty && value is not null)
            {
                return;
            }

            throw ApiJson.Bad($"'{name}' must not be empty.");
        }

        if (value.Length > max)
        {
            throw ApiJson.Bad($"'{name}' is longer than {max} characters.");
        }

        foreach (var c in value)
        {
            if (c is <= ' ' or > '~')
            {
                throw ApiJson.Bad($"'{name}' may hold only printable ASCII characters, without spaces.");
            }
        }
    }
}

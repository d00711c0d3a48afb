using System.Security.Cryptography;
using System.Text;
using Vivim.Protocol.Identity;

namespace Vivim.Protocol.Http;

/// <summary>
/// RFC 9421 HTTP Message Signatures as the API uses them: Ed25519 by a clone's did:key over <c>@method</c>,
/// <c>@path</c>, <c>@query</c> (when the target has a query) and <c>content-digest</c> (when there is a body), with
/// <c>created</c>, <c>nonce</c>, <c>keyid</c> and <c>alg</c>. Paths and queries are the request target exactly as sent.
/// </summary>
public static class HttpMessageSignature
{
    public const string Label = "sig1";
    public const string Algorithm = "ed25519";
    public const string SignatureInputHeader = "Signature-Input";
    public const string SignatureHeader = "Signature";
    public const string ContentDigestHeader = "Content-Digest";

    /// <summary>Longer header values are refused before parsing.</summary>
    public const int MaxHeaderLength = 2048;

    public const string Method = "@method";
    public const string Path = "@path";
    public const string Query = "@query";
    public const string ContentDigestComponent = "content-digest";

    /// <summary>The headers a signed request carries.</summary>
    public sealed record Headers(string SignatureInput, string Signature, string? ContentDigest);

    /// <summary>Signs a request; <paramref name="target"/> is the path and query exactly as the request will send them.</summary>
    public static Headers Sign(SigningKey key, string method, string target, ReadOnlySpan<byte> body, bool hasBody, long created, string? nonce = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (path, query) = SplitTarget(target);
        var digest = hasBody ? ContentDigest.Compute(body) : null;
        var components = new List<string> { Method, Path };
        if (query is not null)
        {
            components.Add(Query);
        }

        if (digest is not null)
        {
            components.Add(ContentDigestComponent);
        }

        var parameters = new SignatureParameters(components, created, nonce ?? NewNonce(), key.Did.Value, Algorithm);
        var signatureBase = BuildBase(parameters, method, path, query, digest);
        var signature = key.Sign(Encoding.UTF8.GetBytes(signatureBase));
        return new Headers($"{Label}={parameters.Serialize()}", $"{Label}=:{Convert.ToBase64String(signature)}:", digest);
    }

    /// <summary>
    /// Parses and checks a request's signature headers against the request. Returns the parsed parameters when the
    /// headers are well formed, the covered components are the ones this request needs, the digest matches the body
    /// and the Ed25519 signature verifies under the key id's did:key; throws <see cref="HttpSignatureException"/> otherwise.
    /// Freshness (<c>created</c>) and nonce reuse are the caller's to check: they need a clock and memory.
    /// </summary>
    public static SignatureParameters Verify(string? signatureInput, string? signature, string? contentDigest, string method, string target, ReadOnlySpan<byte> body, bool hasBody)
    {
        if (string.IsNullOrEmpty(signatureInput) || string.IsNullOrEmpty(signature))
        {
            throw new HttpSignatureException("The request is not signed (Signature-Input and Signature are required).");
        }

        var (inputLabel, parameters) = StructuredFields.ParseSignatureInput(signatureInput);
        var (signatureLabel, signatureBytes) = StructuredFields.ParseSignature(signature);
        if (!string.Equals(inputLabel, signatureLabel, StringComparison.Ordinal))
        {
            throw new HttpSignatureException($"Signature-Input labels '{inputLabel}' but Signature labels '{signatureLabel}'.");
        }

        if (!string.Equals(parameters.Algorithm, Algorithm, StringComparison.Ordinal))
        {
            throw new HttpSignatureException($"alg must be \"{Algorithm}\".");
        }

        var (path, query) = SplitTarget(target);
        var required = new List<string> { Method, Path };
        if (query is not null)
        {
            required.Add(Query);
        }

        if (hasBody)
        {
            required.Add(ContentDigestComponent);
        }

        if (parameters.Components.Count != required.Count || required.Any(r => !parameters.Components.Contains(r)))
        {
            throw new HttpSignatureException($"The signature must cover exactly {string.Join(' ', required.Select(r => $"\"{r}\""))} for this request.");
        }

        string? digest = null;
        if (hasBody)
        {
            if (string.IsNullOrEmpty(contentDigest))
            {
                throw new HttpSignatureException("A request with a body needs a Content-Digest header.");
            }

            if (!ContentDigest.Matches(contentDigest, body))
            {
                throw new HttpSignatureException("Content-Digest does not match the body.");
            }

            digest = contentDigest.Trim();
        }

        if (!DidKey.TryParse(parameters.KeyId, out var did))
        {
            throw new HttpSignatureException("keyid must be a did:key.");
        }

        var signatureBase = BuildBase(parameters, method, path, query, digest);
        if (!Ed25519Keys.Verify(did.PublicKey, Encoding.UTF8.GetBytes(signatureBase), signatureBytes))
        {
            throw new HttpSignatureException("The signature does not verify.");
        }

        return parameters;
    }

    /// <summary>The RFC 9421 signature base: one line per covered component, then <c>@signature-params</c>.</summary>
    public static string BuildBase(SignatureParameters parameters, string method, string path, string? query, string? contentDigest)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var text = new StringBuilder();
        foreach (var component in parameters.Components)
        {
            var value = component switch
            {
                Method => method.ToUpperInvariant(),
                Path => path,
                Query => query ?? throw new HttpSignatureException("@query is covered but the request has no query."),
                ContentDigestComponent => contentDigest ?? throw new HttpSignatureException("content-digest is covered but the request has no Content-Digest."),
                _ => throw new HttpSignatureException($"Component \"{component}\" is not supported."),
            };
            text.Append('"').Append(component).Append("\": ").Append(value).Append('\n');
        }

        text.Append("\"@signature-params\": ").Append(parameters.Serialize());
        return text.ToString();
    }

    /// <summary>Splits a request target into its path and its query with the leading <c>?</c> (null when there is none).</summary>
    public static (string Path, string? Query) SplitTarget(string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        var mark = target.IndexOf('?', StringComparison.Ordinal);
        return mark < 0 ? (target, null) : (target[..mark], target[mark..]);
    }

    private static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The signature parameters of <c>Signature-Input</c>: covered components, in order, and the parameters we use.</summary>
public sealed record SignatureParameters(IReadOnlyList<string> Components, long Created, string Nonce, string KeyId, string Algorithm)
{
    /// <summary>The inner list as RFC 8941 serializes it (which is also the <c>@signature-params</c> value).</summary>
    public string Serialize()
    {
        var text = new StringBuilder("(");
        text.AppendJoin(' ', Components.Select(StructuredFields.SerializeString));
        text.Append(");created=").Append(Created.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Append(";nonce=").Append(StructuredFields.SerializeString(Nonce))
            .Append(";keyid=").Append(StructuredFields.SerializeString(KeyId))
            .Append(";alg=").Append(StructuredFields.SerializeString(Algorithm));
        return text.ToString();
    }
}

/// <summary>RFC 9530 <c>Content-Digest</c> with sha-256.</summary>
public static class ContentDigest
{
    public static string Compute(ReadOnlySpan<byte> body) => $"sha-256=:{Convert.ToBase64String(SHA256.HashData(body))}:";

    /// <summary>True when the header has a sha-256 member equal to the body's digest (other algorithms are ignored).</summary>
    public static bool Matches(string header, ReadOnlySpan<byte> body)
    {
        if (header.Length > HttpMessageSignature.MaxHeaderLength)
        {
            return false;
        }

        Span<byte> actual = stackalloc byte[32];
        Span<byte> claimed = stackalloc byte[48];
        SHA256.HashData(body, actual);
        var found = false;
        foreach (var member in header.Split(','))
        {
            var item = member.Trim();
            if (!item.StartsWith("sha-256=:", StringComparison.Ordinal) || !item.EndsWith(':') || item.Length < 10)
            {
                continue;
            }

            if (!Convert.TryFromBase64String(item[9..^1], claimed, out var written) || written != 32
                || !CryptographicOperations.FixedTimeEquals(claimed[..32], actual))
            {
                return false;
            }

            found = true;
        }

        return found;
    }
}

/// <summary>A request signature that is missing, malformed, or does not verify (HTTP 401).</summary>
public sealed class HttpSignatureException(string message) : ProtocolException("invalid-request-signature", message);

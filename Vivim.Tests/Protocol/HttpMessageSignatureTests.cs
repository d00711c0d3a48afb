using System.Text;
using Vivim.Protocol.Http;
using Vivim.Protocol.Identity;

namespace Vivim.Tests.Protocol;

public sealed class HttpMessageSignatureTests
{
    private static readonly SigningKey Key = SigningKey.FromSeedHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private const string Target = "/v1/clones/did:key:z6Mk:1/updates?after=5&limit=10";

    [Fact]
    public void The_signature_base_is_the_rfc_9421_lines_in_covered_order()
    {
        var parameters = new SignatureParameters(["@method", "@path", "@query", "content-digest"], 1700000000, "n-1", "did:key:z6MkA", "ed25519");
        var text = HttpMessageSignature.BuildBase(parameters, "post", "/v1/clones/c:1/updates", "?after=5", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
        Assert.Equal(
            "\"@method\": POST\n" +
            "\"@path\": /v1/clones/c:1/updates\n" +
            "\"@query\": ?after=5\n" +
            "\"content-digest\": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n" +
            "\"@signature-params\": (\"@method\" \"@path\" \"@query\" \"content-digest\");created=1700000000;nonce=\"n-1\";keyid=\"did:key:z6MkA\";alg=\"ed25519\"",
            text);
    }

    [Fact]
    public void Content_digest_is_rfc_9530_sha_256()
    {
        // RFC 9530 §B.1's example body.
        Assert.Equal("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", ContentDigest.Compute("{\"hello\": \"world\"}"u8));
        Assert.True(ContentDigest.Matches("sha-512=:abc=:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "{\"hello\": \"world\"}"u8));
        Assert.False(ContentDigest.Matches("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "{\"hello\": \"World\"}"u8));
        Assert.False(ContentDigest.Matches("sha-512=:abc=:", "{}"u8));
    }

    [Fact]
    public void A_signed_request_verifies_and_names_its_key()
    {
        var body = "{\"seq\":7}"u8.ToArray();
        var headers = HttpMessageSignature.Sign(Key, "POST", Target, body, hasBody: true, created: 1700000000, nonce: "abc");
        Assert.StartsWith("sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1700000000;nonce=\"abc\";keyid=\"did:key:", headers.SignatureInput, StringComparison.Ordinal);

        var parameters = HttpMessageSignature.Verify(headers.SignatureInput, headers.Signature, headers.ContentDigest, "POST", Target, body, hasBody: true);
        Assert.Equal(Key.Did.Value, parameters.KeyId);
        Assert.Equal(1700000000, parameters.Created);
        Assert.Equal("abc", parameters.Nonce);
    }

    [Fact]
    public void A_get_without_query_covers_method_and_path_only()
    {
        var headers = HttpMessageSignature.Sign(Key, "GET", "/v1/clones/x/snapshot", [], hasBody: false, created: 1);
        Assert.Null(headers.ContentDigest);
        Assert.StartsWith("sig1=(\"@method\" \"@path\");", headers.SignatureInput, StringComparison.Ordinal);
        HttpMessageSignature.Verify(headers.SignatureInput, headers.Signature, null, "GET", "/v1/clones/x/snapshot", [], hasBody: false);
    }

    [Theory]
    [InlineData("PUT", Target, "{\"seq\":7}", "does not verify")] // another method
    [InlineData("POST", "/v1/clones/did:key:z6Mk:2/updates?after=5&limit=10", "{\"seq\":7}", "does not verify")] // another clone
    [InlineData("POST", "/v1/clones/did:key:z6Mk:1/updates?after=6&limit=10", "{\"seq\":7}", "does not verify")] // another query
    [InlineData("POST", "/v1/clones/did%3Akey%3Az6Mk%3A1/updates?after=5&limit=10", "{\"seq\":7}", "does not verify")] // the same path, encoded
    [InlineData("POST", Target, "{\"seq\":8}", "Content-Digest does not match")] // another body
    [InlineData("POST", "/v1/clones/did:key:z6Mk:1/updates", "{\"seq\":7}", "must cover exactly")] // the query dropped
    public void Changing_what_was_signed_fails(string method, string target, string body, string reason)
    {
        var headers = HttpMessageSignature.Sign(Key, "POST", Target, "{\"seq\":7}"u8, hasBody: true, created: 1700000000);
        var e = Assert.Throws<HttpSignatureException>(() =>
            HttpMessageSignature.Verify(headers.SignatureInput, headers.Signature, headers.ContentDigest, method, target, Encoding.UTF8.GetBytes(body), hasBody: true));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signature_by_another_key_than_the_key_id_fails()
    {
        using var other = SigningKey.Generate();
        var headers = HttpMessageSignature.Sign(other, "GET", "/v1/clones/x/status", [], hasBody: false, created: 5);
        var forged = headers.SignatureInput.Replace(other.Did.Value, Key.Did.Value, StringComparison.Ordinal);
        var e = Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(forged, headers.Signature, null, "GET", "/v1/clones/x/status", [], hasBody: false));
        Assert.Contains("does not verify", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "sig1=:AAAA:", "not signed")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"k\"", "sig1=:AAAA:", "all required")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"k\";alg=\"rsa-pss-sha512\"", "sig1=:AAAA:", "alg must be")]
    [InlineData("sig1=(\"@method\" \"@path\");created=x;nonce=\"n\";keyid=\"k\";alg=\"ed25519\"", "sig1=:AAAA:", "expected an integer")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\";expires=2", "sig1=:AAAA:", "not supported")]
    [InlineData("sig1=(\"@method\" \"@method\");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\"", "sig1=:AAAA:", "twice")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\", sig2=()", "sig1=:AAAA:", "one signature per request")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\"", "sig2=:AAAA:", "labels")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\"", "sig1=:A*A:", "not base64")]
    [InlineData("sig1=(\"@method\" \"@path\");created=1;nonce=\"n\";keyid=\"not-a-did\";alg=\"ed25519\"", "sig1=:AAAA:", "did:key")]
    [InlineData("sig1=(\"@method\" \"@path\" \"@authority\");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\"", "sig1=:AAAA:", "must cover exactly")]
    [InlineData("sig1=(\"@method\" \"@path\";created=1", "sig1=:AAAA:", "Malformed")]
    public void Malformed_headers_are_refused_with_a_reason(string? input, string signature, string reason)
    {
        var e = Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(input, signature, null, "GET", "/v1/x", [], hasBody: false));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversize_headers_are_refused_before_parsing()
    {
        var input = "sig1=(\"@method\" \"@path\");created=1;nonce=\"" + new string('n', 5000) + "\";keyid=\"k\";alg=\"ed25519\"";
        var e = Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(input, "sig1=:AAAA:", null, "GET", "/v1/x", [], hasBody: false));
        Assert.Contains("too long", e.Message, StringComparison.Ordinal);
    }
}

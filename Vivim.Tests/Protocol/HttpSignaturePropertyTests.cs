using System.Text;
using CsCheck;
using Vivim.Protocol.Http;
using Vivim.Protocol.Identity;

namespace Vivim.Tests.Protocol;

/// <summary>
/// The RFC 9421 verifier against adversarial headers and requests: <see cref="HttpMessageSignature.Verify"/> either
/// succeeds, and then for exactly what was signed, or throws <see cref="HttpSignatureException"/>; never anything else.
/// </summary>
public sealed class HttpSignaturePropertyTests
{
    private const int Iterations = 3000;
    private const long Created = 1767225600;

    private static readonly SigningKey Key = SigningKey.FromSeedHex(ProtocolVectors.Seeds[3]);

    private static readonly string[] Fragments =
    [
        " ", "  ", "\t", "(", ")", "\"", "\\", "\\\"", ":", "=", ";", ",", "*", "-", "é", "\u0000", "\u007f", "\uffff", "😀", "\ud800",
        ";created=1", ";created=-1", ";created=0042", ";created=9999999999999999", ";nonce=\"x\"", ";keyid=\"did:key:z6Mk\"", ";alg=\"ed25519\"",
        ";alg=\"hmac-sha256\"", ";expires=1", ";tag=\"t\"", ";created=?1", " \"@query\"", " \"@method\"", " \"content-type\"", " \"@authority\"",
        ", sig2=:AAAA:", ", sig2=(\"@method\");created=1", "sig1=", "sha-256=:", ", sha-256=:AAAA:", ", sha-512=:AAAA:", "==", "AAAA",
        string.Concat(Enumerable.Repeat(" \"@path\"", 40)), string.Concat(Enumerable.Repeat(";a=1", 300)),
        new string('A', 3000), "\"" + new string('n', 2100) + "\"",
    ];

    private static readonly Gen<string> Method = Gen.OneOfConst("GET", "POST", "PUT", "DELETE", "get", "post", "Post", "PATCH", "POST ");

    private static readonly Gen<string> Target = Gen.Select(
        Gen.String[Gen.Char["/abcdefgh:.%-_~0123456789"], 1, 40],
        Gen.String[Gen.Char["abc=&%?/+ "], 0, 20],
        Gen.Bool,
        (path, query, hasQuery) => "/" + path + (hasQuery ? "?" + query : string.Empty));

    private static readonly Gen<(byte[] Body, bool HasBody)> Body = Gen.Select(Gen.Byte.Array[0, 64], Gen.Bool);

    /// <summary>A header changed a little: a character replaced or dropped, a fragment spliced in, cut short, or replaced.</summary>
    private static Gen<string> Mutation(string header) => Gen.OneOf(
        Gen.Select(Gen.Int[0, header.Length - 1], Gen.Char, (at, c) => header[..at] + c + header[(at + 1)..]),
        Gen.Select(Gen.Int[0, header.Length - 1], Gen.Char[' ', '~'], (at, c) => header[..at] + c + header[(at + 1)..]),
        Gen.Int[0, header.Length - 1].Select(at => header[..at] + header[(at + 1)..]),
        Gen.Int[0, header.Length - 1].Select(length => header[..length]),
        Gen.Select(Gen.Int[0, header.Length], Gen.Int[0, Fragments.Length - 1], (at, f) => header[..at] + Fragments[f] + header[at..]),
        Gen.String[0, 80],
        Gen.String[Gen.Char[' ', '~'], 0, 80]);

    [Fact]
    public void Mutated_headers_fail_with_a_signature_error_or_verify_what_was_signed()
    {
        var body = "{\"updates\":[]}"u8.ToArray();
        const string target = "/v1/clones/c-1/updates?after=5";
        var signed = HttpMessageSignature.Sign(Key, "POST", target, body, hasBody: true, Created, nonce: "n-1");
        var original = HttpMessageSignature.Verify(signed.SignatureInput, signed.Signature, signed.ContentDigest, "POST", target, body, hasBody: true);
        var signatureBytes = StructuredFields.ParseSignature(signed.Signature).Signature;

        var headers = Gen.OneOf(
            Mutation(signed.SignatureInput).Select(input => signed with { SignatureInput = input }),
            Mutation(signed.Signature).Select(signature => signed with { Signature = signature }),
            Mutation(signed.ContentDigest!).Select(digest => signed with { ContentDigest = digest }),
            Gen.Select(Mutation(signed.SignatureInput), Mutation(signed.Signature), Mutation(signed.ContentDigest!), (i, s, d) => new HttpMessageSignature.Headers(i, s, d)));

        headers.Sample(mutated =>
        {
            SignatureParameters verified;
            try
            {
                verified = HttpMessageSignature.Verify(mutated.SignatureInput, mutated.Signature, mutated.ContentDigest, "POST", target, body, hasBody: true);
            }
            catch (HttpSignatureException)
            {
                return;
            }

            // Only spellings of the same thing verify: the same parameters, signature bytes and digest header.
            Assert.Equal(original.Serialize(), verified.Serialize());
            Assert.Equal(signatureBytes, StructuredFields.ParseSignature(mutated.Signature).Signature);
            Assert.Equal(signed.ContentDigest, mutated.ContentDigest!.Trim());
        }, iter: Iterations);
    }

    [Fact]
    public void A_signature_never_verifies_for_another_method_target_or_body() =>
        Gen.Select(Method, Target, Body, Gen.Select(Method, Target, Body), Gen.Int[0, 3]).Sample((method, target, body, other, change) =>
        {
            var signed = HttpMessageSignature.Sign(Key, method, target, body.Body, body.HasBody, Created, nonce: "n");

            // Change one part of the request (or all of them) and keep the rest.
            var (otherMethod, otherTarget, otherBody) = other;
            var (m, t, b) = change switch
            {
                0 => (otherMethod, target, body),
                1 => (method, otherTarget, body),
                2 => (method, target, otherBody),
                _ => (otherMethod, otherTarget, otherBody),
            };

            try
            {
                HttpMessageSignature.Verify(signed.SignatureInput, signed.Signature, signed.ContentDigest, m, t, b.Body, b.HasBody);
            }
            catch (HttpSignatureException)
            {
                Assert.False(Same(method, target, body, m, t, b), "the signed request itself was refused");
                return;
            }

            Assert.True(Same(method, target, body, m, t, b), $"signed {method} {target} verified for {m} {t}");
        }, iter: Iterations);

    [Fact]
    public void Arbitrary_header_values_fail_with_a_signature_error() =>
        Gen.Select(Gen.String[0, 300], Gen.String[Gen.Char[' ', '~'], 0, 300], Gen.String[Gen.Char[' ', '~'], 0, 300]).Sample((input, signature, digest) =>
        {
            Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(input, signature, digest, "POST", "/x", [1], hasBody: true));
            Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(signature, input, null, "GET", "/x", [], hasBody: false));
        }, iter: Iterations);

    [Fact]
    public void Every_header_is_refused_past_its_length_bound_even_when_otherwise_valid()
    {
        var body = "{}"u8.ToArray();
        var signed = HttpMessageSignature.Sign(Key, "POST", "/x", body, hasBody: true, Created, nonce: "n");
        var pad = new string(' ', HttpMessageSignature.MaxHeaderLength);
        HttpMessageSignature.Verify(signed.SignatureInput + "  ", signed.Signature + "  ", signed.ContentDigest + "  ", "POST", "/x", body, hasBody: true);

        Assert.Contains("too long", Refused(signed with { SignatureInput = signed.SignatureInput + pad }), StringComparison.Ordinal);
        Assert.Contains("too long", Refused(signed with { Signature = signed.Signature + pad }), StringComparison.Ordinal);
        Assert.Contains("does not match", Refused(signed with { ContentDigest = signed.ContentDigest + ", sha-512=:" + new string('A', HttpMessageSignature.MaxHeaderLength) + ":" }), StringComparison.Ordinal);

        // Huge inner lists and parameter lists stop at the component bound or the length bound, whichever comes first.
        var many = "sig1=(" + string.Join(' ', Enumerable.Range(0, 9).Select(i => $"\"c{i}\"")) + ");created=1;nonce=\"n\";keyid=\"k\";alg=\"ed25519\"";
        Assert.Contains("too many covered components", Refused(signed with { SignatureInput = many }), StringComparison.Ordinal);
        Assert.Contains("too long", Refused(signed with { SignatureInput = "sig1=(" + string.Concat(Enumerable.Repeat("\"@path\" ", 300)) + ")" }), StringComparison.Ordinal);
        Assert.Contains("appears twice", Refused(signed with { SignatureInput = signed.SignatureInput + ";created=2" }), StringComparison.Ordinal);

        string Refused(HttpMessageSignature.Headers headers) => Assert.Throws<HttpSignatureException>(
            () => HttpMessageSignature.Verify(headers.SignatureInput, headers.Signature, headers.ContentDigest, "POST", "/x", body, hasBody: true)).Message;
    }

    [Fact]
    public void Byte_sequences_and_integers_are_read_as_rfc_8941_writes_them()
    {
        var body = "{}"u8.ToArray();
        var signed = HttpMessageSignature.Sign(Key, "POST", "/x", body, hasBody: true, Created, nonce: "n");

        // Whitespace inside a byte sequence is not base64 (a lax decoder would skip it); 16 digits is not an sf-integer.
        var spaced = signed.Signature[..20] + " " + signed.Signature[20..];
        Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(signed.SignatureInput, spaced, signed.ContentDigest, "POST", "/x", body, hasBody: true));
        var sixteen = signed.SignatureInput.Replace($"created={Created}", "created=1000000000000000", StringComparison.Ordinal);
        Assert.Contains("integer", Assert.Throws<HttpSignatureException>(() => HttpMessageSignature.Verify(sixteen, signed.Signature, signed.ContentDigest, "POST", "/x", body, hasBody: true)).Message, StringComparison.Ordinal);
    }

    private static bool Same(string method, string target, (byte[] Body, bool HasBody) body, string otherMethod, string otherTarget, (byte[] Body, bool HasBody) otherBody) =>
        string.Equals(method.ToUpperInvariant(), otherMethod.ToUpperInvariant(), StringComparison.Ordinal)
        && string.Equals(target, otherTarget, StringComparison.Ordinal)
        && body.HasBody == otherBody.HasBody
        && (!body.HasBody || body.Body.AsSpan().SequenceEqual(otherBody.Body));
}

using CsCheck;
using Vivim.Protocol;
using Vivim.Protocol.Identity;

namespace Vivim.Tests.Protocol;

public sealed class DidKeyTests
{
    // RFC 8032 §7.1, test 1.
    private const string Rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    private const string Rfc8032PublicKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    [Fact]
    public void A_seed_gives_the_RFC_8032_public_key_and_a_z6Mk_did()
    {
        using var key = SigningKey.FromSeedHex(Rfc8032Seed);
        Assert.Equal(Rfc8032PublicKey, key.PublicKeyHex);
        Assert.StartsWith("did:key:z6Mk", key.Did.Value, StringComparison.Ordinal);
        Assert.Equal(Rfc8032PublicKey, DidKey.Parse(key.Did.Value).PublicKeyHex);
        Assert.Equal(key.Did, DidKey.FromPublicKeyHex(Rfc8032PublicKey));
    }

    [Fact]
    public void Every_public_key_round_trips_through_its_did() =>
        Gen.Byte.Array[32].Sample(bytes =>
        {
            var did = DidKey.FromPublicKey(bytes);
            var parsed = DidKey.Parse(did.Value);
            Assert.Equal(bytes, parsed.PublicKey.ToArray());
            Assert.StartsWith("did:key:z6Mk", did.Value, StringComparison.Ordinal);
        });

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("did:web:example.com", "did:key")]
    [InlineData("did:key:f6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "did:key")]
    [InlineData("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0", "base58btc character")]
    [InlineData("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doI", "base58btc character")]
    [InlineData("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2dol", "base58btc character")]
    [InlineData("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do K", "base58btc character")]
    [InlineData("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "0xed01")]
    [InlineData("did:key:z", "0xed01")]
    [InlineData("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "at most")]
    public void Malformed_dids_are_refused_with_the_reason(string? did, string reason)
    {
        var e = Assert.Throws<DidFormatException>(() => DidKey.Parse(did));
        Assert.Equal("invalid-did", e.Code);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.False(DidKey.TryParse(did, out _));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(0)]
    public void A_did_with_a_key_of_the_wrong_length_is_refused(int keyLength)
    {
        var bytes = new byte[2 + keyLength];
        bytes[0] = 0xed;
        bytes[1] = 0x01;
        bytes.AsSpan(2).Fill(7);
        var did = "did:key:z" + SimpleBase.Base58.Bitcoin.Encode(bytes);
        var e = Assert.Throws<DidFormatException>(() => DidKey.Parse(did));
        Assert.Contains("key bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_did_with_leading_zero_bytes_is_not_canonical()
    {
        // base58btc writes each leading zero byte as '1'; a did:key never starts with one.
        var e = Assert.Throws<DidFormatException>(() => DidKey.Parse("did:key:z16MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"));
        Assert.Equal("invalid-did", e.Code);
    }

    [Fact]
    public void A_valid_did_parses()
    {
        const string did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
        Assert.True(DidKey.TryParse(did, out var parsed));
        Assert.Equal(did, parsed.Value);
        Assert.Equal(32, parsed.PublicKey.Length);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("zz5a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")]
    [InlineData("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a00")]
    public void Malformed_hex_keys_and_seeds_are_refused(string hex)
    {
        Assert.Throws<HexFormatException>(() => DidKey.FromPublicKeyHex(hex));
        Assert.Throws<HexFormatException>(() => SigningKey.FromSeedHex(hex));
    }

    [Fact]
    public void Keys_of_the_wrong_size_are_refused()
    {
        Assert.Throws<DidFormatException>(() => DidKey.FromPublicKey(new byte[31]));
        Assert.Throws<KeyFormatException>(() => SigningKey.FromSeed(new byte[33]));
    }

    [Fact]
    public void A_generated_key_exports_the_seed_it_signs_with()
    {
        using var key = SigningKey.Generate();
        using var again = SigningKey.FromSeed(key.ExportSeed());
        Assert.Equal(key.Did, again.Did);
        var message = "hello"u8.ToArray();
        Assert.True(Ed25519Keys.Verify(key.PublicKey, message, again.Sign(message)));
    }
}

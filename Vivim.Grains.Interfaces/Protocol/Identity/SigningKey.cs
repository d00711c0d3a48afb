using NSec.Cryptography;

namespace Vivim.Protocol.Identity;

/// <summary>An Ed25519 private key with its did:key. Owns native memory: dispose it.</summary>
public sealed class SigningKey : IDisposable
{
    private readonly Key _key;

    private SigningKey(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        Did = DidKey.FromPublicKey(PublicKey);
    }

    public byte[] PublicKey { get; }

    public DidKey Did { get; }

    public string PublicKeyHex => Hex.Encode(PublicKey);

    public static SigningKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519Keys.SeedSize)
        {
            throw new KeyFormatException($"An Ed25519 seed is {Ed25519Keys.SeedSize} bytes, got {seed.Length}.");
        }

        return new SigningKey(Key.Import(Ed25519Keys.Algorithm, seed, KeyBlobFormat.RawPrivateKey, Exportable));
    }

    public static SigningKey FromSeedHex(string seedHex) =>
        FromSeed(Hex.Decode(seedHex, Ed25519Keys.SeedSize, "Ed25519 seed"));

    public static SigningKey Generate() => new(Key.Create(Ed25519Keys.Algorithm, Exportable));

    /// <summary>The 32-byte seed, for envelope encryption at rest. Never log it.</summary>
    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    public byte[] Sign(ReadOnlySpan<byte> data) => Ed25519Keys.Algorithm.Sign(_key, data);

    public void Dispose() => _key.Dispose();

    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
}

public sealed class KeyFormatException(string message) : ProtocolException("invalid-key", message);

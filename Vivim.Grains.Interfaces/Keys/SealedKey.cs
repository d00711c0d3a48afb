namespace Vivim.Keys;

/// <summary>
/// A private key encrypted at rest (envelope encryption): AEAD ciphertext of the key under the key-encryption key
/// named <see cref="KekId"/>, bound to <see cref="Owner"/> (e.g. the DID) as associated data.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.SealedKey")]
public sealed record SealedKey(string KekId, string Owner, byte[] Nonce, byte[] Ciphertext)
{
    // Never print key material, even encrypted.
    public override string ToString() => $"SealedKey {{ KekId = {KekId}, Owner = {Owner} }}";
}

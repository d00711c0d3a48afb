namespace Vivim.Keys;

/// <summary>Configuration section <c>Vivim:KeyEncryption</c>: KEKs by id (base64, 32 bytes) and which one seals new keys.</summary>
public sealed class KeyVaultOptions
{
    public const string Section = "Vivim:KeyEncryption";

    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    public string? ActiveKeyId { get; set; }
}

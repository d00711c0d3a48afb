using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Vivim.Tenants;

/// <summary>
/// Tenant API keys: <c>vk.&lt;tenant id&gt;.&lt;key id&gt;.&lt;secret&gt;</c>. The tenant and key ids route the check to
/// the tenant; only the SHA-256 of the 256-bit secret is stored (a random secret needs no slow hash).
/// </summary>
public static class ApiKeyFormat
{
    private const string Prefix = "vk";
    private const int MaxLength = 200;

    public static string NewTenantId() => "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));

    public static string NewKeyId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public static string NewSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Compose(string tenantId, string keyId, string secret) => $"{Prefix}.{tenantId}.{keyId}.{secret}";

    public static byte[] HashSecret(string secret) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret));

    public static bool TryParse(string? apiKey, [NotNullWhen(true)] out string? tenantId, [NotNullWhen(true)] out string? keyId, [NotNullWhen(true)] out string? secret)
    {
        tenantId = keyId = secret = null;
        if (string.IsNullOrEmpty(apiKey) || apiKey.Length > MaxLength)
        {
            return false;
        }

        var parts = apiKey.Split('.');
        if (parts.Length != 4 || parts[0] != Prefix || !IsId(parts[1]) || !IsId(parts[2]) || parts[3].Length < 32)
        {
            return false;
        }

        (tenantId, keyId, secret) = (parts[1], parts[2], parts[3]);
        return true;
    }

    public static bool IsId(string value) => value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c));
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Vivim.Hosting;

namespace Vivim.Security;

/// <summary>
/// The operator's bearer key (<c>Vivim:OperatorKey</c>). When unset, the embedded node creates one on first start in
/// <c>operator.key</c> of its data directory (owner-readable); the node's ready notice says where — never the key itself.
/// The gateway's API and every host's management port (<c>Management/</c>) check it.
/// </summary>
public sealed class OperatorKey
{
    public const string FileName = "operator.key";
    private readonly byte[] _key;

    public OperatorKey(IConfiguration configuration, StorageLocation location)
    {
        var configured = configuration["Vivim:OperatorKey"];
        if (!string.IsNullOrEmpty(configured))
        {
            _key = Encoding.UTF8.GetBytes(configured.Trim());
            return;
        }

        if (location.DataPath is null)
        {
            throw new InvalidOperationException("Vivim:OperatorKey is not set; a clustered gateway, and a silo with a management port, need it from the secret store.");
        }

        var path = Path.Combine(location.DataPath, FileName);
        if (!File.Exists(path))
        {
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            DataDirectorySecret.TryCreate(path, Encoding.UTF8.GetBytes(key + "\n"));
        }

        var text = File.ReadAllText(path).Trim();
        _key = text.Length >= 16 ? Encoding.UTF8.GetBytes(text) : throw new InvalidOperationException($"{path} holds no usable operator key.");
        FilePath = Path.GetFullPath(path);
    }

    /// <summary>Where the embedded node keeps the key, or null when it is configured.</summary>
    public string? FilePath { get; }

    public bool Matches(string? presented) =>
        presented is { Length: > 0 and <= 512 } && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(_key));
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vivim.Hosting;

namespace Vivim.Keys;

/// <summary>
/// The embedded node's key-encryption key when none is configured: 32 random bytes created on first run in the data
/// directory, readable by the owner only, so that a restart can unseal the keys it sealed. Production configures its
/// KEKs from a secret store instead (<c>Vivim:KeyEncryption</c>) and never uses this.
/// </summary>
public sealed class EmbeddedKeyEncryptionKey(StorageLocation location, ILogger<EmbeddedKeyEncryptionKey> logger) : IPostConfigureOptions<KeyVaultOptions>
{
    public const string FileName = "key-encryption.key";
    public const string KeyId = "embedded";

    public void PostConfigure(string? name, KeyVaultOptions options)
    {
        if (options.Keys.Count > 0 || location.DataPath is null)
        {
            return;
        }

        var path = Path.Combine(location.DataPath, FileName);
        options.Keys[KeyId] = Convert.ToBase64String(LoadOrCreate(path));
        options.ActiveKeyId ??= KeyId;
    }

    private byte[] LoadOrCreate(string path)
    {
        var key = DataDirectorySecret.LoadOrCreate(path, 32, out var created);
        if (created)
        {
            // Information, not a warning: every fresh embedded node creates one (its libp2p identity is sealed at start).
            logger.LogInformation("Created a key-encryption key at {Path} for the embedded node. Configure Vivim:KeyEncryption from a secret store in production.", path);
        }

        return key;
    }
}

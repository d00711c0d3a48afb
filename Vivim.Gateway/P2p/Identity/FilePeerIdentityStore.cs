using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Libp2p.Core;

namespace Vivim.Gateway.P2p.Identity;

/// <summary>
/// The embedded node's peer identity: <c>p2p-identity.json</c> in its data directory, owner-only, holding the seed
/// sealed under the key-encryption key (never the seed itself).
/// </summary>
public sealed class FilePeerIdentityStore(StorageLocation location, KeyVault vault) : IPeerIdentityStore
{
    public const string FileName = "p2p-identity.json";

    /// <summary>The sealed key's owner: one embedded node has one gateway silo.</summary>
    public const string SiloName = "embedded";

    public string Path => System.IO.Path.Combine(location.DataPath ?? throw new InvalidOperationException("The embedded node has no data directory."), FileName);

    public async Task<Ed25519Identity> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path))
        {
            var (identity, sealedKey) = SealedPeerIdentity.Create(vault, SiloName);
            if (DataDirectorySecret.TryCreate(Path, JsonSerializer.SerializeToUtf8Bytes(ToJson(sealedKey))))
            {
                return identity;
            }

            identity.Dispose(); // another process of this node wrote it first: use that one
        }

        var text = await File.ReadAllTextAsync(Path, cancellationToken);
        SealedKey stored;
        Ed25519Identity opened;
        try
        {
            stored = FromJson(text);
            opened = SealedPeerIdentity.Open(vault, stored, SiloName);
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or CryptographicException)
        {
            throw new InvalidOperationException($"{Path} does not hold this node's sealed libp2p identity ({e.Message}); it opens only with the key-encryption key it was sealed under.", e);
        }

        if (vault.NeedsRotation(stored))
        {
            Replace(ToJson(SealedPeerIdentity.Reseal(vault, opened, SiloName)));
        }

        return opened;
    }

    /// <summary>Writes the file again, complete before it takes the name (owner-only, like the first one).</summary>
    private void Replace(JsonObject content)
    {
        var temporary = Path + "." + Guid.NewGuid().ToString("N") + ".new";
        if (!DataDirectorySecret.TryCreate(temporary, JsonSerializer.SerializeToUtf8Bytes(content)))
        {
            return;
        }

        File.Move(temporary, Path, overwrite: true);
    }

    private static JsonObject ToJson(SealedKey sealedKey) => new()
    {
        ["kekId"] = sealedKey.KekId,
        ["nonce"] = Convert.ToBase64String(sealedKey.Nonce),
        ["ciphertext"] = Convert.ToBase64String(sealedKey.Ciphertext),
    };

    private static SealedKey FromJson(string text)
    {
        var json = JsonNode.Parse(text)?.AsObject() ?? throw new FormatException("empty file");
        string Member(string name) => json[name]?.GetValue<string>() ?? throw new FormatException($"no \"{name}\"");
        return new SealedKey(Member("kekId"), SealedPeerIdentity.Owner(SiloName), Convert.FromBase64String(Member("nonce")), Convert.FromBase64String(Member("ciphertext")));
    }
}

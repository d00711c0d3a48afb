using Vivim.Client.Replica;
using Vivim.Protocol;
using Vivim.Protocol.Identity;

namespace Vivim.Client.Identity;

/// <summary>An Ed25519 key kept as its hex seed in a file only its owner can read (0600).</summary>
public static class KeyFile
{
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="KeyFormatException">The file does not hold a 32-byte hex seed.</exception>
    public static SigningKey Load(string path)
    {
        var text = File.ReadAllText(path).Trim();
        try
        {
            return SigningKey.FromSeedHex(text);
        }
        catch (HexFormatException e)
        {
            throw new KeyFormatException($"{path} does not hold a 32-byte Ed25519 seed in hex: {e.Message}");
        }
    }

    /// <summary>Writes the key's seed (atomically, owner-only); refuses to replace an existing key unless <paramref name="overwrite"/>.</summary>
    public static void Save(string path, SigningKey key, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!overwrite && File.Exists(path))
        {
            throw new IOException($"{path} already exists.");
        }

        var seed = key.ExportSeed();
        try
        {
            AtomicFile.WriteAllText(path, Hex.Encode(seed) + "\n");
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);
        }
    }
}

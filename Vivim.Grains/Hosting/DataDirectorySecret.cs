using System.Security.Cryptography;

namespace Vivim.Hosting;

/// <summary>
/// Secrets the embedded node creates for itself on first run (key-encryption key, cluster secret, operator key): random
/// bytes in a file of the data directory, readable by the owner only, written completely before it takes its name.
/// </summary>
public static class DataDirectorySecret
{
    /// <summary>Reads the secret at <paramref name="path"/>, or creates it; <paramref name="created"/> tells which.</summary>
    public static byte[] LoadOrCreate(string path, int length, out bool created)
    {
        if (File.Exists(path))
        {
            created = false;
            var existing = File.ReadAllBytes(path);
            return existing.Length == length
                ? existing
                : throw new InvalidOperationException($"{path} must hold {length} bytes, not {existing.Length}.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var secret = RandomNumberGenerator.GetBytes(length);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, file))
        {
            stream.Write(secret);
            stream.Flush(flushToDisk: true);
        }

        try
        {
            // Moved into place only when complete, so a crash never leaves a short secret behind.
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process of this node created it first: use theirs.
            File.Delete(temporary);
            return LoadOrCreate(path, length, out created);
        }

        created = true;
        return secret;
    }
}

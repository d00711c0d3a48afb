using System.Security.Cryptography;

namespace Vivim.Hosting;

/// <summary>
/// Secrets the embedded node creates for itself on first run (key-encryption key, cluster secret, operator key): a file
/// of the data directory, readable by the owner only, written completely before it takes its name.
/// </summary>
public static class DataDirectorySecret
{
    /// <summary>Reads the secret at <paramref name="path"/>, or creates it from random bytes; <paramref name="created"/> tells which.</summary>
    public static byte[] LoadOrCreate(string path, int length, out bool created)
    {
        if (!File.Exists(path))
        {
            var secret = RandomNumberGenerator.GetBytes(length);
            if (TryCreate(path, secret))
            {
                created = true;
                return secret;
            }
        }

        created = false;
        var existing = File.ReadAllBytes(path);
        return existing.Length == length
            ? existing
            : throw new InvalidOperationException($"{path} must hold {length} bytes, not {existing.Length}.");
    }

    /// <summary>Writes <paramref name="content"/> to a new owner-only file; false when the file exists (another process of this node was first).</summary>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, file))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        try
        {
            // Moved into place only when complete, so a crash never leaves a short secret behind.
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }
}

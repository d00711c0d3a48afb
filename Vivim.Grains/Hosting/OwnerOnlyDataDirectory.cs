namespace Vivim.Hosting;

/// <summary>
/// The embedded node's data directory holds the database (every tenant's documents) next to the keys, so it is the
/// owner's alone: the directory 0700, every file in it 0600. SQLite creates <c>-wal</c> and <c>-shm</c> with the
/// mode of the database file, so the database file is created here first, owner-only, before SQLite opens it. A
/// directory from an older build (0755, files 0644) is tightened at start.
/// </summary>
public static class OwnerOnlyDataDirectory
{
    public const UnixFileMode OwnerDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupAndOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates <paramref name="directory"/> and the empty <paramref name="databaseFile"/> in it owner-only, or takes
    /// group and other access away from what exists. Returns what it had to tighten (for one warning in the log).
    /// On Windows it only creates the directory: access there follows the parent folder's ACLs.
    /// </summary>
    public static IReadOnlyList<string> Secure(string directory, string databaseFile)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return [];
        }

        var tightened = new List<string>();
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerDirectory);
        }

        Tighten(directory, tightened);
        CreateOwnerOnly(Path.Combine(directory, databaseFile));
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories))
        {
            // A link's own mode means nothing and its target may be anywhere: leave it as the operator made it.
            if (new FileInfo(entry).LinkTarget is null)
            {
                Tighten(entry, tightened);
            }
        }

        return tightened;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Tighten(string path, List<string> tightened)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupAndOthers) != 0)
        {
            File.SetUnixFileMode(path, mode & ~GroupAndOthers);
            tightened.Add(path);
        }
    }

    /// <summary>An empty file is a new database to SQLite, which then creates its WAL and shared memory with this mode.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void CreateOwnerOnly(string path)
    {
        if (File.Exists(path))
        {
            return;
        }

        try
        {
            using var _ = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerFile });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process of this node created it first; Secure tightens it like any other file.
        }
    }
}

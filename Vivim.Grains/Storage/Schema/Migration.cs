using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Vivim.Storage.Schema;

/// <summary>One versioned schema change, embedded from <c>Storage/Migrations/{database}/NNNN_name.sql</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql, string Checksum)
{
    private const string Prefix = "migrations/";

    /// <summary>The migrations of one database, in version order.</summary>
    public static IReadOnlyList<Migration> For(DatabaseKind database)
    {
        var folder = Prefix + Folder(database) + "/";
        var assembly = typeof(Migration).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(folder, StringComparison.Ordinal)))
        {
            var file = resource[folder.Length..];
            var separator = file.IndexOf('_', StringComparison.Ordinal);
            if (separator <= 0 || !int.TryParse(file.AsSpan(0, separator), out var version) || !file.EndsWith(".sql", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' is not named NNNN_name.sql.");
            }

            var sql = Read(assembly, resource).ReplaceLineEndings("\n");
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
            migrations.Add(new Migration(version, file[(separator + 1)..^4], sql, checksum));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Two {database} migrations have version {migrations[i].Version}.");
            }
        }

        return migrations;
    }

    private static string Folder(DatabaseKind database) => database switch
    {
        DatabaseKind.Sqlite => "sqlite",
        DatabaseKind.PostgreSql => "postgresql",
        _ => throw new ArgumentOutOfRangeException(nameof(database)),
    };

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"Missing resource {resource}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}

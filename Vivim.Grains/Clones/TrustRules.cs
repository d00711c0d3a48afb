using Vivim.Protocol.Model;

namespace Vivim.Clones;

/// <summary>Trust ordering and write rights, shared by the exit node (anchor grants) and the clone grain (its own check).</summary>
internal static class TrustRules
{
    /// <summary>genesis &gt; bootstrap &gt; primary &gt; secondary &gt; unverified &gt; suspended; the enum is declared in that order.</summary>
    public static bool AtLeast(TrustLevel level, TrustLevel minimum) => (int)level <= (int)minimum;

    /// <summary>Writes need trust secondary or higher and the <c>write</c> permission; a fork never writes back.</summary>
    public static bool MayWrite(TrustLevel level, IReadOnlyCollection<string> permissions, MigrationType migration) =>
        level != TrustLevel.Suspended
        && AtLeast(level, TrustLevel.Secondary)
        && migration != MigrationType.Fork
        && permissions.Contains(Permissions.Write, StringComparer.Ordinal);

    /// <summary>Known permissions only, without duplicates, <c>read</c> before <c>write</c>.</summary>
    public static List<string> Normalize(IEnumerable<string> permissions)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var permission in permissions)
        {
            if (permission is not (Permissions.Read or Permissions.Write))
            {
                throw new ArgumentException($"Unknown permission \"{permission}\"; expected \"{Permissions.Read}\" or \"{Permissions.Write}\".", nameof(permissions));
            }

            set.Add(permission);
        }

        return [.. new[] { Permissions.Read, Permissions.Write }.Where(set.Contains)];
    }
}

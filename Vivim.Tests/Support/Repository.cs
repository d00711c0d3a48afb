namespace Vivim.Tests.Support;

/// <summary>Paths inside the repository the tests run from.</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vivim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Vivim.sln above {AppContext.BaseDirectory}.");
    });

    public static string Root => RootPath.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);
}

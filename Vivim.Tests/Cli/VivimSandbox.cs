namespace Vivim.Tests.Cli;

/// <summary>A fresh VIVIM_HOME and working directory for running <c>vivim</c> as a user would; removed on dispose.</summary>
internal sealed class VivimSandbox : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("vivim-home-");
    private readonly DirectoryInfo _cwd = Directory.CreateTempSubdirectory("vivim-cwd-");

    public string Home => _home.FullName;

    public string WorkingDirectory => _cwd.FullName;

    public Task<VivimRun.Result> RunAsync(params string[] args) => VivimRun.RunAsync(Home, WorkingDirectory, null, args);

    public Task<VivimRun.Result> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        VivimRun.RunAsync(Home, WorkingDirectory, environment, args);

    public void Dispose()
    {
        _home.Delete(recursive: true);
        _cwd.Delete(recursive: true);
    }
}

using System.Text.Json.Nodes;
using Vivim.Tests.Support;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// <c>infra/azure/</c> compiled, linted and evaluated once for the tests that read it: the Bicep CLI runs on a copy in a
/// temporary directory (its outputs never land in the repository), with the parameters files' inputs set as a person
/// deploying would set them in their shell (docs/azure.md).
/// </summary>
public sealed class AzureTemplate : IAsyncLifetime
{
    public const string RegistryName = "vivimtestacr";
    public const string ImageTag = "1.2.3";

    private static readonly Dictionary<string, string> DeployerShell = new(StringComparer.Ordinal)
    {
        ["VIVIM_ACR_NAME"] = RegistryName,
        ["VIVIM_IMAGE_TAG"] = ImageTag,
        ["VIVIM_VAULT_OFFICER"] = "00000000-0000-0000-0000-000000000001",
    };

    private readonly string directory = Path.Combine(Path.GetTempPath(), "vivim-azure-template-" + Guid.NewGuid().ToString("N"));

    /// <summary>Every CLI run: build, build-params and lint of every file, and a snapshot per parameters file.</summary>
    public List<BicepRun> Runs { get; } = [];

    /// <summary>The ARM template main.bicep compiles to.</summary>
    public JsonObject Compiled { get; private set; } = [];

    /// <summary>What a deployment with small.bicepparam would create, as the CLI predicts it offline.</summary>
    public DeploymentSnapshot Small { get; private set; } = null!;

    public DeploymentSnapshot Large { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        CopyDirectory(Repository.PathOf("infra", "azure"), directory);
        Runs.Add(await RunAsync("build", "main.bicep", "--outfile", "main.json"));
        Compiled = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "main.json")))!;
        foreach (var file in new[] { "main.bicep", "small.bicepparam", "large.bicepparam" })
        {
            Runs.Add(await RunAsync("lint", file));
        }

        foreach (var name in new[] { "small", "large" })
        {
            Runs.Add(await RunAsync("build-params", name + ".bicepparam", "--outfile", name + ".parameters.json"));
            Runs.Add(await RunAsync("snapshot", name + ".bicepparam", "--mode", "overwrite"));
        }

        Small = await DeploymentSnapshot.LoadAsync(Path.Combine(directory, "small.snapshot.json"));
        Large = await DeploymentSnapshot.LoadAsync(Path.Combine(directory, "large.snapshot.json"));
    }

    public Task DisposeAsync()
    {
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }

    private Task<BicepRun> RunAsync(params string[] arguments) => BicepCli.RunAsync(directory, DeployerShell, arguments);

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

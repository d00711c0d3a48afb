using System.Text.RegularExpressions;
using Vivim.Tests.Support;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// <c>infra/kubernetes/</c> offers the same storage choice as the Azure template: config.yaml (PostgreSQL) or
/// config.azure.yaml (Vivim:Storage=Azure), and the pods read either store's connection string from the secret. Every
/// setting the manifests give is one a Vivim host reads.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly string[] Workloads = ["silo.yaml", "gateway.yaml", "migrate-job.yaml"];

    [Fact]
    public void Azure_config_selects_Azure_storage_with_the_contracts_keys()
    {
        var data = ConfigMapData("config.azure.yaml");
        Assert.Equal("Azure", data["Vivim__Storage"]);
        Assert.Matches("^https://[A-Za-z0-9-]+\\.table\\.core\\.windows\\.net$", data["ConnectionStrings__Vivim"]);
        Assert.Equal("vivim", data["Vivim__Storage__TablePrefix"]);
        Assert.DoesNotContain("Vivim__Storage__Provider", data.Keys);

        // Apart from where the data lives, the cluster is configured as on PostgreSQL.
        var postgres = ConfigMapData("config.yaml");
        Assert.Equal("PostgreSql", postgres["Vivim__Storage__Provider"]);
        var shared = postgres.Keys.Where(k => !k.StartsWith("Vivim__Storage", StringComparison.Ordinal));
        Assert.All(shared, key => Assert.Equal(postgres[key], data[key]));
    }

    [Theory]
    [InlineData("config.yaml")]
    [InlineData("config.azure.yaml")]
    public void Every_config_map_key_is_read_by_the_hosts(string file) =>
        Assert.Empty(HostSettingKeys.Unread(ConfigMapData(file).Keys));

    [Theory]
    [InlineData("silo.yaml")]
    [InlineData("gateway.yaml")]
    [InlineData("migrate-job.yaml")]
    public void Every_pod_variable_is_read_by_the_hosts(string file)
    {
        var names = EnvNames(Read(file)).ToList();
        Assert.Contains("ConnectionStrings__Vivim", names);
        Assert.Empty(HostSettingKeys.Unread(names));
    }

    [Theory]
    [InlineData("silo.yaml")]
    [InlineData("gateway.yaml")]
    [InlineData("migrate-job.yaml")]
    public void Pods_take_whichever_stores_connection_string_the_secret_holds(string file)
    {
        var text = Read(file);
        Assert.Contains(
            "- name: Vivim__Storage__ConnectionString\n              valueFrom: { secretKeyRef: { name: vivim-secrets, key: postgres, optional: true } }",
            text,
            StringComparison.Ordinal);
        Assert.Contains(
            "- name: ConnectionStrings__Vivim\n              valueFrom: { secretKeyRef: { name: vivim-secrets, key: azure-storage, optional: true } }",
            text,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_example_and_workload_identity_name_the_Azure_alternatives()
    {
        Assert.Contains("# azure-storage: \"DefaultEndpointsProtocol=https;AccountName=", Read("secret.example.yaml"), StringComparison.Ordinal);
        var serviceAccount = Read("workload-identity.azure.yaml");
        Assert.Contains("kind: ServiceAccount", serviceAccount, StringComparison.Ordinal);
        Assert.Contains("azure.workload.identity/client-id:", serviceAccount, StringComparison.Ordinal);
        Assert.All(Workloads, file => Assert.DoesNotContain("AccountKey", Read(file), StringComparison.Ordinal));
    }

    private static string Read(string file) => File.ReadAllText(Repository.PathOf("infra", "kubernetes", file)).ReplaceLineEndings("\n");

    /// <summary>The <c>data:</c> of a ConfigMap manifest (flat string keys, as ours are).</summary>
    private static Dictionary<string, string> ConfigMapData(string file)
    {
        var lines = Read(file).Split('\n');
        var start = Array.IndexOf(lines, "data:");
        Assert.True(start >= 0, $"{file} has no data:");
        return lines.Skip(start + 1)
            .Select(line => DataEntry().Match(line))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value.Trim('"'), StringComparer.Ordinal);
    }

    private static IEnumerable<string> EnvNames(string manifest) =>
        EnvName().Matches(manifest).Select(m => m.Groups["name"].Value);

    [GeneratedRegex(@"^  (?<key>[A-Za-z_][A-Za-z0-9_]*): (?<value>.+)$")]
    private static partial Regex DataEntry();

    // Container variables: "- name: X" followed by a value or valueFrom (ports and containers have other keys).
    [GeneratedRegex(@"- name: (?<name>\S+)\n\s+value(?:From)?:", RegexOptions.Multiline)]
    private static partial Regex EnvName();
}

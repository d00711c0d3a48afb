using System.Text.RegularExpressions;
using Vivim.Tests.Support;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// <c>infra/kubernetes/</c> offers the same storage choice as the Azure template: config.yaml alone (PostgreSQL) or
/// with config.azure.yaml (Vivim:Storage=Azure), and the pods read either store's connection string from the secret.
/// Every setting the manifests give is one a Vivim host reads.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly string[] Workloads = ["silo.yaml", "gateway.yaml", "migrate-job.yaml"];

    [Fact]
    public void Azure_config_selects_Azure_storage_with_the_contracts_keys()
    {
        Assert.Contains("kind: ConfigMap\nmetadata:\n  name: vivim-storage\n", Read("config.azure.yaml"), StringComparison.Ordinal);
        var data = ConfigMapData("config.azure.yaml");
        Assert.Equal("Azure", data["Vivim__Storage__Provider"]);
        Assert.Matches("^https://[A-Za-z0-9-]+\\.table\\.core\\.windows\\.net$", data["ConnectionStrings__Vivim"]);
        Assert.Equal("vivim", data["Vivim__Storage__TablePrefix"]);

        // Only where the data lives: everything else stays config.yaml's, which names PostgreSQL until this map overrides it.
        Assert.All(data.Keys, key => Assert.True(key.StartsWith("Vivim__Storage", StringComparison.Ordinal) || key == "ConnectionStrings__Vivim", key));
        Assert.Equal("PostgreSql", ConfigMapData("config.yaml")["Vivim__Storage__Provider"]);
    }

    [Theory]
    [InlineData("silo.yaml")]
    [InlineData("gateway.yaml")]
    [InlineData("migrate-job.yaml")]
    public void Pods_read_the_storage_map_after_the_shared_one_so_that_it_wins_where_it_exists(string file) =>
        Assert.Contains(
            "envFrom:\n            - configMapRef: { name: vivim-config }\n            - configMapRef: { name: vivim-storage, optional: true }\n",
            Read(file),
            StringComparison.Ordinal);

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

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vivim.Tests.Support;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// <c>infra/azure/</c> (issue 18, point 5): the Bicep template and both parameters files compile and lint without a
/// single diagnostic, and what they would deploy keeps the properties that matter: private storage reached with the
/// managed identity, secrets only from Key Vault, probes on every app, the gateways' public HTTP and libp2p ports,
/// logs in Log Analytics, and settings the hosts actually read.
/// </summary>
public sealed partial class AzureTemplateTests(AzureTemplate template) : IClassFixture<AzureTemplate>
{
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    private const string AppIdentity = "'Microsoft.ManagedIdentity/userAssignedIdentities', 'vivim-identity'";

    public static TheoryData<string> Deployments => ["small", "large"];

    private DeploymentSnapshot Deployment(string name) => name == "small" ? template.Small : template.Large;

    [Fact]
    public void Template_and_parameters_files_build_and_lint_without_errors_or_warnings()
    {
        Assert.Equal(8, template.Runs.Count);
        Assert.All(template.Runs, run =>
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.True(run.Diagnostics.Count == 0, run.ToString());
        });
        Assert.Empty(template.Small.Diagnostics);
        Assert.Empty(template.Large.Diagnostics);
    }

    [Fact]
    public void Compiled_template_uses_only_local_modules()
    {
        // Registry modules (br:, ts:) would need the network to restore; every module is a nested deployment here.
        var modules = template.Compiled["resources"]!.AsObject()
            .Select(r => r.Value!.AsObject())
            .Where(r => (string?)r["type"] == "Microsoft.Resources/deployments")
            .ToList();
        Assert.NotEmpty(modules);
        Assert.All(modules, m => Assert.NotNull(m["properties"]!["template"]));
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Storage_account_allows_no_public_blobs_no_account_keys_and_TLS_1_2_only(string deployment)
    {
        var properties = Deployment(deployment).Single("Microsoft.Storage/storageAccounts")["properties"]!;
        Assert.False((bool)properties["allowBlobPublicAccess"]!);
        Assert.False((bool)properties["allowSharedKeyAccess"]!);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.True((bool)properties["supportsHttpsTrafficOnly"]!);
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Deleted_blobs_are_not_kept_restorable_so_a_tenants_erasure_is_complete(string deployment)
    {
        var properties = Deployment(deployment).Single("Microsoft.Storage/storageAccounts/blobServices")["properties"]!;
        Assert.False((bool)properties["deleteRetentionPolicy"]!["enabled"]!);
        Assert.False((bool)properties["containerDeleteRetentionPolicy"]!["enabled"]!);
        Assert.False((bool)properties["isVersioningEnabled"]!);
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Apps_identity_gets_the_table_and_blob_data_roles_on_the_account_and_reads_the_vault(string deployment)
    {
        var snapshot = Deployment(deployment);
        foreach (var (role, scope) in new[]
                 {
                     (StorageTableDataContributor, "'Microsoft.Storage/storageAccounts'"),
                     (StorageBlobDataContributor, "'Microsoft.Storage/storageAccounts'"),
                     (KeyVaultSecretsUser, "'Microsoft.KeyVault/vaults'"),
                     (AcrPull, "'Microsoft.ContainerRegistry/registries'"),
                 })
        {
            var assignment = Assert.Single(snapshot.RoleAssignments(role));
            Assert.Contains(AppIdentity, (string?)assignment["properties"]!["principalId"], StringComparison.Ordinal);
            Assert.Equal("ServicePrincipal", (string?)assignment["properties"]!["principalType"]);
            Assert.Contains(scope, (string?)assignment["id"], StringComparison.Ordinal);
        }

        // Every app and the job run as that identity, and AZURE_CLIENT_ID picks it for DefaultAzureCredential.
        foreach (var app in Apps(snapshot).Append(snapshot.Single("Microsoft.App/jobs")))
        {
            Assert.Equal("UserAssigned", (string?)app["identity"]!["type"]);
            var identity = Assert.Single(app["identity"]!["userAssignedIdentities"]!.AsObject());
            Assert.Contains("'identity'", identity.Key, StringComparison.Ordinal);
            Assert.Contains("outputs.clientId", DeploymentSnapshot.EnvValue(app, "AZURE_CLIENT_ID"), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Key_vault_authorizes_with_RBAC_and_keeps_deleted_secrets(string deployment)
    {
        var properties = Deployment(deployment).Single("Microsoft.KeyVault/vaults")["properties"]!;
        Assert.True((bool)properties["enableRbacAuthorization"]!);
        Assert.True((bool)properties["enableSoftDelete"]!);
        Assert.Null(properties["accessPolicies"]);
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Secrets_reach_the_apps_only_as_Key_Vault_references(string deployment)
    {
        var snapshot = Deployment(deployment);
        foreach (var app in Apps(snapshot))
        {
            var secrets = app["properties"]!["configuration"]!["secrets"]!.AsArray().Select(s => s!.AsObject()).ToList();
            Assert.All(secrets, secret =>
            {
                Assert.Null(secret["value"]);
                // The vault's URI (the key-vault module's output) followed by secrets/<the secret's name>.
                var url = (string?)secret["keyVaultUrl"];
                Assert.Contains("'key-vault'", url, StringComparison.Ordinal);
                Assert.Contains("outputs.uri.value", url, StringComparison.Ordinal);
                Assert.Contains("secrets/", url, StringComparison.Ordinal);
                Assert.Contains((string)secret["name"]!, url, StringComparison.Ordinal);
                Assert.Contains("'identity'", (string?)secret["identity"], StringComparison.Ordinal);
            });

            var env = DeploymentSnapshot.Env(app);
            foreach (var secretSetting in env.Where(e => IsSecretSetting(e.Name)))
            {
                Assert.Null(secretSetting.Value);
                Assert.Contains(secrets, s => (string?)s["name"] == secretSetting.SecretRef);
            }

            Assert.Contains(env, e => e.Name == "Vivim__ClusterSecret");
            Assert.Contains(env, e => e.Name == "Vivim__KeyEncryption__Keys__kek_2026_12");
        }

        Assert.Equal("operator-key", Assert.Single(DeploymentSnapshot.Env(Gateways(snapshot)[0]), e => e.Name == "Vivim__OperatorKey").SecretRef);
        Assert.DoesNotContain(DeploymentSnapshot.Env(snapshot.Single("Microsoft.App/jobs")), e => IsSecretSetting(e.Name));
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Silos_and_gateways_have_startup_readiness_and_liveness_probes(string deployment)
    {
        var snapshot = Deployment(deployment);
        foreach (var app in Apps(snapshot))
        {
            var probes = DeploymentSnapshot.Container(app)["probes"]!.AsArray().Select(p => p!.AsObject()).ToList();
            Assert.Equal(["Liveness", "Readiness", "Startup"], probes.Select(p => (string)p["type"]!).Order());
        }

        var gatewayProbes = DeploymentSnapshot.Container(Gateways(snapshot)[0])["probes"]!.AsArray();
        Assert.Equal(
            ["/health/live", "/health/ready", "/health/startup"],
            gatewayProbes.Select(p => (string)p!["httpGet"]!["path"]!).Order());
        Assert.All(gatewayProbes, p => Assert.Equal(8080, (int)p!["httpGet"]!["port"]!));

        // Vivim.Silo serves no HTTP: its probes are the Orleans ports.
        var siloProbes = DeploymentSnapshot.Container(Silo(snapshot))["probes"]!.AsArray();
        Assert.All(siloProbes, p => Assert.Contains((int)p!["tcpSocket"]!["port"]!, new[] { 11111, 30000 }));
    }

    [Theory]
    [InlineData("small", 1)]
    [InlineData("large", 3)]
    public void Each_gateway_serves_HTTPS_and_its_own_public_libp2p_port_which_it_announces(string deployment, int gateways)
    {
        var snapshot = Deployment(deployment);
        var apps = Gateways(snapshot);
        Assert.Equal(gateways, apps.Count);
        var exposedPorts = new List<int>();
        foreach (var app in apps)
        {
            var ingress = app["properties"]!["configuration"]!["ingress"]!;
            Assert.True((bool)ingress["external"]!);
            Assert.Equal(8080, (int)ingress["targetPort"]!);
            Assert.False((bool)ingress["allowInsecure"]!);
            var p2p = Assert.Single(ingress["additionalPortMappings"]!.AsArray())!;
            Assert.True((bool)p2p["external"]!);
            Assert.Equal(4001, (int)p2p["targetPort"]!);
            var exposed = (int)p2p["exposedPort"]!;
            exposedPorts.Add(exposed);

            // One replica per app: the announced address must reach this one peer.
            Assert.Equal(1, (int)app["properties"]!["template"]!["scale"]!["maxReplicas"]!);
            Assert.Equal("/ip4/0.0.0.0/tcp/4001", DeploymentSnapshot.EnvValue(app, "Vivim__P2p__Listen__0"));
            var announce = DeploymentSnapshot.EnvValue(app, "Vivim__P2p__Announce__0");
            Assert.Contains("outputs.staticIp", announce, StringComparison.Ordinal);
            Assert.EndsWith($", {exposed})]", announce, StringComparison.Ordinal);
        }

        Assert.Equal(Enumerable.Range(4001, gateways), exposedPorts.Order());
        Assert.Equal(gateways, apps.Select(a => DeploymentSnapshot.EnvValue(a, "Vivim__SiloName")).Distinct().Count());

        // The workers have no ingress at all: their Orleans ports stay inside the environment's network.
        Assert.Null(Silo(snapshot)["properties"]!["configuration"]!["ingress"]);
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Environment_sends_logs_to_Log_Analytics_from_inside_the_VNet(string deployment)
    {
        var snapshot = Deployment(deployment);
        var environment = snapshot.Single("Microsoft.App/managedEnvironments")["properties"]!;
        Assert.Equal("log-analytics", (string?)environment["appLogsConfiguration"]!["destination"]);
        Assert.Contains("'Microsoft.OperationalInsights/workspaces', 'vivim-logs'", (string?)environment["appLogsConfiguration"]!["logAnalyticsConfiguration"]!["customerId"], StringComparison.Ordinal);
        Assert.NotNull(snapshot.Named("Microsoft.OperationalInsights/workspaces", "vivim-logs"));
        Assert.Contains("environmentSubnetId", (string?)environment["vnetConfiguration"]!["infrastructureSubnetId"], StringComparison.Ordinal);
        var subnet = Assert.Single(snapshot.Single("Microsoft.Network/virtualNetworks")["properties"]!["subnets"]!.AsArray())!;
        Assert.Equal("Microsoft.App/environments", (string?)subnet["properties"]!["delegations"]![0]!["properties"]!["serviceName"]);
    }

    [Fact]
    public void Parameters_files_size_a_small_and_a_large_deployment()
    {
        static (int Silos, double Cpu, string? Sku, bool Zones, string? Profile) Size(DeploymentSnapshot snapshot)
        {
            var silo = Silo(snapshot);
            return (
                (int)silo["properties"]!["template"]!["scale"]!["minReplicas"]!,
                (double)DeploymentSnapshot.Container(silo)["resources"]!["cpu"]!,
                (string?)snapshot.Single("Microsoft.Storage/storageAccounts")["sku"]!["name"],
                (bool)snapshot.Single("Microsoft.App/managedEnvironments")["properties"]!["zoneRedundant"]!,
                (string?)silo["properties"]!["workloadProfileName"]);
        }

        Assert.Equal((1, 1.0, "Standard_LRS", false, "Consumption"), Size(template.Small));
        Assert.Equal((6, 2.0, "Standard_ZRS", true, "dedicated"), Size(template.Large));
        Assert.Equal($"{AzureTemplate.RegistryName}.azurecr.io/vivim-silo:{AzureTemplate.ImageTag}", (string?)DeploymentSnapshot.Container(Silo(template.Small))["image"]);
        Assert.Equal($"{AzureTemplate.RegistryName}.azurecr.io/vivim-gateway:{AzureTemplate.ImageTag}", (string?)DeploymentSnapshot.Container(Gateways(template.Small)[0])["image"]);
        Assert.True((bool)template.Large.Single("Microsoft.KeyVault/vaults")["properties"]!["enablePurgeProtection"]!);
    }

    [Theory]
    [MemberData(nameof(Deployments))]
    public void Every_setting_is_one_the_hosts_read_and_storage_is_Azure_through_the_managed_identity(string deployment)
    {
        var snapshot = Deployment(deployment);
        foreach (var app in Apps(snapshot).Append(snapshot.Single("Microsoft.App/jobs")))
        {
            var env = DeploymentSnapshot.Env(app);
            Assert.Empty(HostSettingKeys.Unread(env.Select(e => e.Name)));
            Assert.Equal(env.Count, env.Select(e => e.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
            Assert.Equal("Azure", DeploymentSnapshot.EnvValue(app, "Vivim__Storage"));
            Assert.Contains("outputs.tableServiceUri", DeploymentSnapshot.EnvValue(app, "ConnectionStrings__Vivim"), StringComparison.Ordinal);
        }

        Assert.Equal(["migrate"], DeploymentSnapshot.Container(snapshot.Single("Microsoft.App/jobs"))["command"]!.AsArray().Select(c => (string)c!).TakeLast(1));
        Assert.Equal("11111", DeploymentSnapshot.EnvValue(Silo(snapshot), "Vivim__SiloPort"));
        Assert.Equal("30000", DeploymentSnapshot.EnvValue(Silo(snapshot), "Vivim__GatewayPort"));
        Assert.Equal("kek_2026_12", DeploymentSnapshot.EnvValue(Silo(snapshot), "Vivim__KeyEncryption__ActiveKeyId"));
    }

    [Fact]
    public void The_service_URI_the_apps_get_is_the_accounts_table_endpoint()
    {
        // The storage module's output, as the hosts parse it (https://<account>.table.<storage suffix>).
        var outputs = template.Compiled["resources"]!["storage"]!["properties"]!["template"]!["outputs"]!;
        Assert.Equal("[format('https://{0}.table.{1}', parameters('name'), environment().suffixes.storage)]", (string?)outputs["tableServiceUri"]!["value"]);
    }

    [Fact]
    public void The_guide_creates_the_secrets_the_apps_reference_and_names_real_parameters_and_files()
    {
        var guide = File.ReadAllText(Repository.PathOf("docs", "azure.md"));

        // docs/azure.md: the vault's secrets (the rotation example's next key aside) are exactly the ones the apps name.
        var created = SecretSet().Matches(guide).Select(m => m.Groups["name"].Value).Where(n => n != "kek-2027-06").Distinct().Order().ToList();
        var referenced = Apps(template.Small)
            .SelectMany(a => a["properties"]!["configuration"]!["secrets"]!.AsArray().Select(s => (string)s!["name"]!))
            .Distinct()
            .Order()
            .ToList();
        Assert.Equal(referenced, created);

        // Every parameter the guide names in a table's first column is one main.bicep declares.
        var parameters = BicepParameter().Matches(File.ReadAllText(Repository.PathOf("infra", "azure", "main.bicep"))).Select(m => m.Groups["name"].Value).ToHashSet();
        var named = TableParameter().Matches(guide).SelectMany(m => m.Groups["names"].Value.Split(['`', ',', '/', ' '], StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.NotEmpty(named);
        Assert.All(named, name => Assert.Contains(name, parameters));

        // Every repository path it mentions exists.
        var paths = RepositoryPath().Matches(guide).Select(m => m.Value.TrimEnd('.', ')')).Distinct().ToList();
        Assert.Contains("infra/azure/small.bicepparam", paths);
        Assert.All(paths, path => Assert.True(File.Exists(Repository.PathOf(path)) || Directory.Exists(Repository.PathOf(path)), path));
    }

    [GeneratedRegex(@"az keyvault secret set --vault-name \$VAULT --name (?<name>[a-z0-9-]+)")]
    private static partial Regex SecretSet();

    [GeneratedRegex(@"^param (?<name>\w+) ", RegexOptions.Multiline)]
    private static partial Regex BicepParameter();

    [GeneratedRegex(@"^\| (?<names>`[A-Za-z]+`(?:(?:, |/)`[A-Za-z]+`)*) \|", RegexOptions.Multiline)]
    private static partial Regex TableParameter();

    [GeneratedRegex(@"(?<![\w/.])(?:infra|docs|Vivim\.[A-Za-z]+)/[A-Za-z0-9_./-]+")]
    private static partial Regex RepositoryPath();

    private static bool IsSecretSetting(string name) =>
        name is "Vivim__OperatorKey" or "Vivim__ClusterSecret" || name.StartsWith("Vivim__KeyEncryption__Keys__", StringComparison.Ordinal);

    private static List<JsonObject> Apps(DeploymentSnapshot snapshot) => [.. snapshot.OfType("Microsoft.App/containerApps")];

    private static JsonObject Silo(DeploymentSnapshot snapshot) => snapshot.Named("Microsoft.App/containerApps", "vivim-silo");

    private static List<JsonObject> Gateways(DeploymentSnapshot snapshot) =>
        [.. Apps(snapshot).Where(a => ((string?)a["name"])!.StartsWith("vivim-gateway-", StringComparison.Ordinal)).OrderBy(a => (string?)a["name"], StringComparer.Ordinal)];
}

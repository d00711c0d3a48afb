using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Client.Identity;
using Vivim.Client.Replica;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;

namespace Vivim.Cli.Commands;

/// <summary>
/// The CLI's local state under <c>VIVIM_HOME</c> (default <c>~/.vivim</c>): the identity key, the tenant's API key, the
/// default exit node, and one directory per clone registration under <c>clones/</c>. Secret files are 0600.
/// </summary>
public sealed class CliHome(string root)
{
    public const string HomeVariable = "VIVIM_HOME";
    public const string GatewayVariable = "VIVIM_GATEWAY";
    public const string OperatorKeyVariable = "VIVIM_OPERATOR_KEY";
    public const string ApiKeyVariable = "VIVIM_API_KEY";

    /// <summary>Where <c>dotnet run --project Vivim.Gateway</c> writes its operator key, relative to the current directory.</summary>
    public static readonly string DefaultOperatorKeyFile = Path.Combine("data", "operator.key");

    public string Root { get; } = Path.GetFullPath(root);

    public string IdentityPath => Path.Combine(Root, "identity.key");

    public string TenantPath => Path.Combine(Root, "tenant.json");

    public string DefaultNodePath => Path.Combine(Root, "node");

    public string ClonesRoot => Path.Combine(Root, "clones");

    public static CliHome FromEnvironment() =>
        new(Environment.GetEnvironmentVariable(HomeVariable) is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".vivim"));

    /// <summary>The gateway: the option, then <c>VIVIM_GATEWAY</c>, then http://localhost:8080; a malformed one is a usage error naming where it came from.</summary>
    public static Uri Gateway(string? option)
    {
        var (address, origin) = option is not null
            ? (option, "--gateway")
            : Environment.GetEnvironmentVariable(GatewayVariable) is { Length: > 0 } env ? (env, GatewayVariable) : (GatewayAddress.Default, "the default gateway");
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            throw new CliUsageException($"{origin} must be an http(s) URL such as {GatewayAddress.Default}, not '{address}'.");
        }

        return GatewayAddress.Normalize(uri);
    }

    /// <summary>The operator key: the option, then <c>VIVIM_OPERATOR_KEY</c>, then <c>data/operator.key</c> in the current directory.</summary>
    public static string OperatorKey(string? option)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return option.Trim();
        }

        if (Environment.GetEnvironmentVariable(OperatorKeyVariable) is { Length: > 0 } env)
        {
            return env.Trim();
        }

        if (File.Exists(DefaultOperatorKeyFile))
        {
            return File.ReadAllText(DefaultOperatorKeyFile).Trim();
        }

        throw new CliException($"no operator key found: no --operator-key, no {OperatorKeyVariable}, and no {Path.GetFullPath(DefaultOperatorKeyFile)}; pass --operator-key <key> or set {OperatorKeyVariable} to the key in the gateway's data/operator.key (its start-up log names the file).");
    }

    public SigningKey LoadIdentity()
    {
        if (!File.Exists(IdentityPath))
        {
            throw new CliException($"No identity in {Root}: run 'vivim identity create' first.");
        }

        return KeyFile.Load(IdentityPath);
    }

    /// <summary>The identity, created on first use (for commands that only need some key, like registering a clone).</summary>
    public SigningKey LoadOrCreateIdentity()
    {
        if (File.Exists(IdentityPath))
        {
            return KeyFile.Load(IdentityPath);
        }

        var key = SigningKey.Generate();
        KeyFile.Save(IdentityPath, key);
        return key;
    }

    public void SaveTenant(Uri gateway, string tenantId, string apiKey) =>
        AtomicFile.WriteAllText(TenantPath, JavaScriptJson.Stringify(new JsonObject { ["gateway"] = gateway.AbsoluteUri, ["tenantId"] = tenantId, ["apiKey"] = apiKey }, 2) + "\n");

    /// <summary>The tenant's API key: the option, then <c>VIVIM_API_KEY</c>, then the one <c>vivim tenant create</c> saved.</summary>
    public string ApiKey(string? option)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return option.Trim();
        }

        if (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } env)
        {
            return env.Trim();
        }

        if (ReadTenant() is { } tenant && TextOf(tenant, "apiKey") is { Length: > 0 } key)
        {
            return key;
        }

        throw new CliException($"No tenant API key: pass --api-key, set {ApiKeyVariable}, or run 'vivim tenant create'.");
    }

    /// <summary>Where <see cref="ApiKey"/> takes the key from, for messages: the option, the variable or the saved file.</summary>
    public string ApiKeyOrigin(string? option) =>
        !string.IsNullOrWhiteSpace(option) ? CommonOptions.ApiKeyName
        : Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } ? ApiKeyVariable
        : TenantPath;

    public string? TenantId() => ReadTenant() is { } tenant ? TextOf(tenant, "tenantId") : null;

    public void SaveDefaultNode(string did) => AtomicFile.WriteAllText(DefaultNodePath, did + "\n");

    /// <summary>The exit node: the option, else the one <c>vivim node create</c> saved; checked to be a did:key before any call.</summary>
    public string Node(string? option)
    {
        if (option is not null)
        {
            return CheckedDid(option, "--node");
        }

        if (!File.Exists(DefaultNodePath))
        {
            throw new CliException("No exit node: pass --node <did> or run 'vivim node create'.");
        }

        var saved = File.ReadAllText(DefaultNodePath).Trim();
        return DidProblem(saved) is { } problem ? throw new CliException($"{DefaultNodePath} holds '{saved}', not a did:key ({problem}): pass --node <did> or run 'vivim node create'.") : saved;
    }

    /// <summary>A did:key as typed in <paramref name="option"/>, or a usage error saying what is wrong with it (a typo in a DID is the usual cause).</summary>
    public static string CheckedDid(string did, string option) =>
        DidProblem(did) is { } problem
            ? throw new CliUsageException($"{option} '{did}' is not a valid did:key: {problem} Copy the DID that 'vivim node create' or 'vivim node list' printed.")
            : did;

    private static string? DidProblem(string did)
    {
        try
        {
            DidKey.Parse(did);
            return null;
        }
        catch (DidFormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>The directory of a clone: by id (or directory name), or the only one there is.</summary>
    public string CloneDirectory(string? cloneId)
    {
        if (cloneId is not null)
        {
            var directory = Path.Combine(ClonesRoot, StoredRegistration.DirectoryNameOf(cloneId));
            return Directory.Exists(directory) ? directory : throw new CliException($"No clone {cloneId} in {ClonesRoot}.");
        }

        var all = Directory.Exists(ClonesRoot) ? Directory.GetDirectories(ClonesRoot) : [];
        return all.Length switch
        {
            1 => all[0],
            0 => throw new CliException("No clone registered here: run 'vivim clone register --node <did>'."),
            _ => throw new CliException($"{all.Length} clones are registered here: pass --clone <id>."),
        };
    }

    private static string? TextOf(JsonObject json, string member) => json[member] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private JsonObject? ReadTenant()
    {
        if (!File.Exists(TenantPath))
        {
            return null;
        }

        try
        {
            return ProtocolJson.ParseObject(File.ReadAllBytes(TenantPath));
        }
        catch (Vivim.Protocol.ProtocolException e)
        {
            throw new CliException($"{TenantPath} is not what 'vivim tenant create' writes ({e.Message}): pass --api-key, or delete the file and run 'vivim tenant create'.");
        }
    }
}

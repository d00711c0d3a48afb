using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Vivim.Storage.Azure;

namespace Vivim.Hosting;

/// <summary>
/// The Azure Storage account of <c>Vivim:Storage=Azure</c>, turned once from its configured value into the table and
/// blob clients every Azure store shares, and the names of everything Vivim keeps there. The value is an Azure Storage
/// connection string (account key or SAS), or for a managed identity the account's table or blob service URI
/// (<c>https://&lt;account&gt;.table.core.windows.net</c>; the other service's URI is derived from it) authenticated
/// with <see cref="DefaultAzureCredential"/>, where <c>AZURE_CLIENT_ID</c> selects a user-assigned identity. Neither the
/// value nor a key is ever part of a message: <see cref="Describe"/> is what logs show.
/// </summary>
public sealed partial class AzureStorageAccount
{
    public const string DefaultPrefix = "vivim";

    /// <summary>Orleans' cluster membership (silos and their gateways).</summary>
    public const string SilosTable = "silos";

    public const string RemindersTable = "reminders";

    /// <summary>Grain states placed on Table storage (<see cref="AzureGrainStatePlacement"/>).</summary>
    public const string GrainStateTable = "grainstate";

    /// <summary>Grain states placed on Blob storage, one blob each.</summary>
    public const string GrainStateContainer = "grainstate";

    public const string HostedDidsTable = "hosteddids";

    public const string SpentNoncesTable = "nonces";

    /// <summary>The gateway silos' sealed libp2p identities.</summary>
    public const string PeerIdentitiesTable = "peers";

    private AzureStorageAccount(TableServiceClient tables, BlobServiceClient blobs, string prefix, bool managedIdentity)
    {
        Tables = tables;
        Blobs = blobs;
        Prefix = prefix;
        UsesManagedIdentity = managedIdentity;
    }

    public TableServiceClient Tables { get; }

    public BlobServiceClient Blobs { get; }

    /// <summary><c>Vivim:Storage:TablePrefix</c>: the start of every table and container name.</summary>
    public string Prefix { get; }

    /// <summary>Authenticated with <see cref="DefaultAzureCredential"/> (a service URI was configured), not a key or SAS.</summary>
    public bool UsesManagedIdentity { get; }

    /// <summary>Every table Vivim uses, with the prefix: Orleans' and Vivim's own, the update log's included.</summary>
    public IReadOnlyList<string> TableNames =>
    [
        TableName(SilosTable), TableName(RemindersTable), TableName(GrainStateTable), TableName(HostedDidsTable),
        TableName(SpentNoncesTable), TableName(PeerIdentitiesTable), TableName(AzureTableUpdateLog.DefaultTableName),
    ];

    /// <summary>Every blob container Vivim uses, with the prefix.</summary>
    public IReadOnlyList<string> ContainerNames => [ContainerName(GrainStateContainer)];

    /// <summary>A table's full name: the prefix, then <paramref name="name"/>.</summary>
    public string TableName(string name) => Prefix + name;

    /// <summary>A container's full name: container names are lower case, so the prefix is too.</summary>
    public string ContainerName(string name) => Prefix.ToLowerInvariant() + name;

    /// <exception cref="InvalidOperationException">The value is neither a connection string nor a service URI, or the prefix is not a valid name start.</exception>
    public static AzureStorageAccount Parse(string connection, string prefix, TokenCredential? credential = null)
    {
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:ConnectionString (or ConnectionStrings:Vivim) is required when {VivimStorageOptions.Section} is Azure: an Azure Storage connection string, or the account's table or blob service URI for a managed identity.");
        }

        if (prefix is null || !PrefixPattern().IsMatch(prefix))
        {
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:TablePrefix is '{prefix}': it must be 1-40 letters and digits, starting with a letter (every table and container name starts with it).");
        }

        connection = connection.Trim();
        if (Uri.TryCreate(connection, UriKind.Absolute, out var uri) && !connection.Contains(';', StringComparison.Ordinal))
        {
            var (tableUri, blobUri) = ServiceUris(uri);
            credential ??= new DefaultAzureCredential();
            return new AzureStorageAccount(new TableServiceClient(tableUri, credential), new BlobServiceClient(blobUri, credential), prefix, managedIdentity: true);
        }

        if (connection.Contains("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:ConnectionString: 'UseDevelopmentStorage=true' names the old Windows emulator; give Azurite's explicit devstoreaccount1 connection string (infra/dev/azurite.sh prints it).");
        }

        try
        {
            return new AzureStorageAccount(new TableServiceClient(connection), new BlobServiceClient(connection), prefix, managedIdentity: false);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // Not the parser's message: it may quote the string, key included.
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:ConnectionString is not a valid Azure Storage connection string (it needs AccountName and AccountKey or SharedAccessSignature, or TableEndpoint and BlobEndpoint), nor an https service URI.");
        }
    }

    /// <summary>For logs: the account and its endpoints, never a key or a SAS token.</summary>
    public string Describe() =>
        $"{Tables.AccountName} (tables {Tables.Uri.GetLeftPart(UriPartial.Path)}, blobs {Blobs.Uri.GetLeftPart(UriPartial.Path)}, prefix {Prefix}{(UsesManagedIdentity ? ", managed identity" : string.Empty)})";

    /// <summary>Creates every table and container that is missing (idempotent); returns the names it checked.</summary>
    public async Task<IReadOnlyList<string>> EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        foreach (var table in TableNames)
        {
            await Tables.CreateTableIfNotExistsAsync(table, cancellationToken).ConfigureAwait(false);
        }

        foreach (var container in ContainerNames)
        {
            // No public access: the container is private whatever the account allows.
            await Blobs.GetBlobContainerClient(container).CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return [.. TableNames, .. ContainerNames];
    }

    /// <summary>The names of <see cref="TableNames"/> and <see cref="ContainerNames"/> that do not exist.</summary>
    public async Task<IReadOnlyList<string>> FindMissingAsync(CancellationToken cancellationToken = default)
    {
        var missing = new List<string>();
        foreach (var table in TableNames)
        {
            var found = false;
            await foreach (var _ in Tables.QueryAsync($"TableName eq '{table}'", maxPerPage: 1, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                found = true;
                break;
            }

            if (!found)
            {
                missing.Add(table);
            }
        }

        foreach (var container in ContainerNames)
        {
            if (!await Blobs.GetBlobContainerClient(container).ExistsAsync(cancellationToken).ConfigureAwait(false))
            {
                missing.Add(container);
            }
        }

        return missing;
    }

    private static (Uri Tables, Uri Blobs) ServiceUris(Uri uri)
    {
        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:ConnectionString is a URI but not https: a managed identity's token is only sent over https.");
        }

        var labels = uri.Host.Split('.');
        var service = labels.Length > 2 ? labels[1].ToLowerInvariant() : string.Empty;
        if (service is not ("table" or "blob"))
        {
            throw new InvalidOperationException($"{VivimStorageOptions.Section}:ConnectionString is the URI of {uri.Host}: give the account's table or blob service URI (https://<account>.table.core.windows.net).");
        }

        Uri With(string name)
        {
            labels[1] = name;
            return new UriBuilder(uri) { Host = string.Join('.', labels), Path = "/", Query = string.Empty }.Uri;
        }

        return (With("table"), With("blob"));
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{0,39}$")]
    private static partial Regex PrefixPattern();
}

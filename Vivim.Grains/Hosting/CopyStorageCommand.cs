using System.Data.Common;
using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Data.Sqlite;
using Vivim.Storage;
using Vivim.Storage.Azure;
using Vivim.Storage.Copy;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>
/// <c>Vivim.Silo copy-storage</c>: copies a stopped deployment's data from PostgreSQL or the embedded node's SQLite
/// file to an Azure Storage account (docs/azure.md, "Move from PostgreSQL"). Offline: it refuses while silos of the
/// source are alive. Idempotent: what the target already holds identically is skipped, a DID log or grain state that
/// differs there is refused, so a re-run after an interruption completes the copy. Ends with a verification of every
/// DID on both sides. Connection strings come from options or environment variables and are never printed.
/// </summary>
public static class CopyStorageCommand
{
    public const string Usage = """
        usage: Vivim.Silo copy-storage --from postgres|sqlite --to azure [options]
          --from-connection <value>  source: PostgreSQL connection string, or the embedded node's data directory
                                     (or environment VIVIM_COPY_FROM)
          --to-connection <value>    target: Azure Storage connection string or service URI (or VIVIM_COPY_TO)
          --to-prefix <prefix>       the target deployment's Vivim:Storage:TablePrefix (default vivim)
          --service-id <id>          Vivim:ServiceId of both deployments (default vivim)
        """;

    /// <summary>How recent a member's heartbeat must be for the source to count as running.</summary>
    public static readonly TimeSpan LiveMemberWindow = TimeSpan.FromMinutes(10);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, CancellationToken cancellationToken = default)
    {
        CopyRequest request;
        try
        {
            request = CopyRequest.Parse(args);
        }
        catch (ArgumentException e)
        {
            await output.WriteLineAsync("copy-storage: " + e.Message + Environment.NewLine + Usage);
            return 2;
        }

        try
        {
            return await new StorageCopy(request, output).RunAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or IOException or ArgumentException)
        {
            await output.WriteLineAsync("copy-storage failed: " + e.Message);
            return 1;
        }
        catch (Exception e) when (AzureStorageFaults.IsTransient(e) || e is RequestFailedException)
        {
            await output.WriteLineAsync("copy-storage failed: " + AzureStorageFaults.Describe(e) + " Nothing copied is lost: run the same command again to finish.");
            return 1;
        }
    }

    private sealed record CopyRequest(StorageLocation Source, AzureStorageAccount Target, string ServiceId)
    {
        public static CopyRequest Parse(IReadOnlyList<string> args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Count; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
                {
                    throw new ArgumentException($"'{args[i]}' is not an option with a value.");
                }

                values[args[i][2..]] = args[++i];
            }

            string Take(string name, string? fallback = null) =>
                values.Remove(name, out var value) ? value : fallback ?? throw new ArgumentException($"--{name} is required.");

            var from = Take("from").ToUpperInvariant();
            var to = Take("to").ToUpperInvariant();
            var fromConnection = Take("from-connection", Environment.GetEnvironmentVariable("VIVIM_COPY_FROM") ?? "");
            var toConnection = Take("to-connection", Environment.GetEnvironmentVariable("VIVIM_COPY_TO") ?? "");
            var prefix = Take("to-prefix", AzureStorageAccount.DefaultPrefix);
            var serviceId = Take("service-id", "vivim");
            if (values.Count > 0)
            {
                throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
            }

            if (to != "AZURE")
            {
                throw new ArgumentException($"--to {to.ToLowerInvariant()}: only azure is a target.");
            }

            if (string.IsNullOrWhiteSpace(fromConnection) || string.IsNullOrWhiteSpace(toConnection))
            {
                throw new ArgumentException("Both connections are required: --from-connection (or VIVIM_COPY_FROM) and --to-connection (or VIVIM_COPY_TO).");
            }

            var source = from switch
            {
                "POSTGRES" or "POSTGRESQL" => StorageLocation.Resolve(new VivimStorageOptions { Provider = DatabaseKind.PostgreSql, ConnectionString = fromConnection }, "."),
                "SQLITE" => File.Exists(Path.Combine(fromConnection, StorageLocation.SqliteFileName))
                    ? StorageLocation.Resolve(new VivimStorageOptions { Provider = DatabaseKind.Sqlite }, fromConnection)
                    : throw new ArgumentException($"{Path.Combine(Path.GetFullPath(fromConnection), StorageLocation.SqliteFileName)} does not exist: --from-connection is the embedded node's data directory."),
                _ => throw new ArgumentException($"--from {from.ToLowerInvariant()}: the source is postgres or sqlite."),
            };
            AzureStorageAccount target;
            try
            {
                target = AzureStorageAccount.Parse(toConnection, prefix);
            }
            catch (InvalidOperationException e)
            {
                throw new ArgumentException(e.Message, e);
            }

            return new CopyRequest(source, target, serviceId);
        }
    }

    private sealed class StorageCopy(CopyRequest request, TextWriter output)
    {
        private readonly List<string> _conflicts = [];

        public async Task<int> RunAsync(CancellationToken cancellationToken)
        {
            await using var source = new DatabaseSource(request.Source);
            await SayAsync($"copy-storage: from {request.Source.Provider} at {request.Source.Describe()} to Azure Storage {request.Target.Describe()}, service id {request.ServiceId}");
            var live = await source.ListLiveMembersAsync(LiveMemberWindow, cancellationToken);
            if (live.Count > 0)
            {
                await SayAsync($"copy-storage refused: the source deployment is running ({live.Count} live silo(s): {string.Join(", ", live)}). Stop every silo and gateway first; the copy is offline.");
                return 1;
            }

            await request.Target.EnsureCreatedAsync(cancellationToken);
            var serving = await LiveTargetMembersAsync(cancellationToken);
            if (serving.Count > 0)
            {
                await SayAsync($"copy-storage refused: the target deployment is running ({serving.Count} live silo(s): {string.Join(", ", serving)}). The copy writes only into a stopped deployment.");
                return 1;
            }

            var log = new AzureTableUpdateLog(request.Target.Tables, request.Target.TableName(AzureTableUpdateLog.DefaultTableName));

            var logs = await CopyLogsAsync(source, log, cancellationToken);
            var states = await CopyGrainStatesAsync(source, cancellationToken);
            var hosted = await CopyHostedDidsAsync(source, cancellationToken);
            var nonces = await CopyNoncesAsync(source, cancellationToken);
            var identities = await CopyPeerIdentitiesAsync(source, cancellationToken);

            await SayAsync($"summary: {logs.Dids} DIDs ({logs.Copied} copied, {logs.Present} already there), {logs.Updates} updates, {logs.Documents} documents; "
                + $"{states.Total} grain states ({states.Copied} copied, {states.Present} already there); {hosted} hosted DIDs; {nonces} spent nonces; {identities} peer identities");
            if (_conflicts.Count > 0)
            {
                await SayAsync($"copy-storage failed: {_conflicts.Count} conflict(s) with data the target already holds (left as it is):");
                foreach (var conflict in _conflicts)
                {
                    await SayAsync("  " + conflict);
                }

                return 1;
            }

            var mismatches = await VerifyAsync(source, log, cancellationToken);
            if (mismatches > 0)
            {
                await SayAsync($"verification failed: {mismatches} DID(s) differ between source and target.");
                return 1;
            }

            await SayAsync($"verified: {logs.Dids} DIDs equal on both sides (bounds, head root, commits, documents)");
            return 0;
        }

        private async Task<(int Dids, int Copied, int Present, long Updates, long Documents)> CopyLogsAsync(DatabaseSource source, AzureTableUpdateLog target, CancellationToken cancellationToken)
        {
            var dids = await source.ListLogDidsAsync(cancellationToken);
            var (copied, present, updates, documents) = (0, 0, 0L, 0L);
            var n = 0;
            foreach (var did in dids)
            {
                n++;
                var segment = await LogExport.ReadAsync(source.Log, did, cancellationToken);
                updates += segment.Updates.Count;
                documents += segment.Documents.Count;
                var digest = LogExport.Digest(segment);
                var there = await target.GetBoundsAsync(did, cancellationToken);
                if (there != LogMissing)
                {
                    var existing = LogExport.Digest(await LogExport.ReadAsync(target, did, cancellationToken));
                    if (existing == digest)
                    {
                        present++;
                        await SayAsync($"log {n}/{dids.Count} {did}: already there ({digest})");
                    }
                    else
                    {
                        _conflicts.Add($"log of {did}: the target holds {existing}, the source {digest}; delete the target's log or use an empty target");
                        await SayAsync($"log {n}/{dids.Count} {did}: CONFLICT, the target holds a different log");
                    }

                    continue;
                }

                try
                {
                    await target.ImportAsync(did, segment, cancellationToken);
                }
                catch (UpdateLogConflictException e)
                {
                    _conflicts.Add($"log of {did}: {e.Message}");
                    continue;
                }

                copied++;
                await SayAsync($"log {n}/{dids.Count} {did}: copied {digest}");
            }

            return (dids.Count, copied, present, updates, documents);
        }

        private async Task<(int Total, int Copied, int Present)> CopyGrainStatesAsync(DatabaseSource source, CancellationToken cancellationToken)
        {
            var records = await source.ListGrainStatesAsync(request.ServiceId, cancellationToken);
            await using var target = await AzureGrainStateTarget.StartAsync(request.Target, request.ServiceId, cancellationToken);
            var (copied, present, total) = (0, 0, 0);
            foreach (var skipped in records.Where(r => !target.GrainTypes.ContainsKey(r.StateName) || r.Key is null).GroupBy(r => r.StateName))
            {
                // Orleans' stream subscriptions (PubSubStore) name the old cluster's clients; the new gateways subscribe anew.
                await SayAsync($"grain states: {skipped.Count()} record(s) of state '{skipped.Key}' skipped (not a Vivim grain state)");
            }

            foreach (var (stateName, key, payload) in records.Where(r => target.GrainTypes.ContainsKey(r.StateName) && r.Key is not null))
            {
                total++;
                var grainId = GrainId.Create(target.GrainTypes[stateName], key!);
                var (bytes, read) = await target.ReadAsync(stateName, grainId);
                if (bytes is not null)
                {
                    if (bytes.AsSpan().SequenceEqual(payload))
                    {
                        present++;
                    }
                    else
                    {
                        _conflicts.Add($"grain state '{stateName}' of {key}: the target holds a different state");
                    }

                    continue;
                }

                await target.WriteAsync(stateName, grainId, read, payload);
                copied++;
                if (copied % 100 == 0)
                {
                    await SayAsync($"grain states: {copied} copied");
                }
            }

            await SayAsync($"grain states: {total} ({copied} copied, {present} already there) of {string.Join(", ", records.GroupBy(r => r.StateName).Select(g => $"{g.Key} {g.Count()}"))}");
            return (total, copied, present);
        }

        private async Task<int> CopyHostedDidsAsync(DatabaseSource source, CancellationToken cancellationToken)
        {
            var hosted = await source.ListHostedDidsAsync(cancellationToken);
            var directory = new AzureTableHostedDidDirectory(request.Target.Tables.GetTableClient(request.Target.TableName(AzureStorageAccount.HostedDidsTable)));
            foreach (var (did, tenantId) in hosted)
            {
                await directory.AddAsync(did, tenantId, cancellationToken);
            }

            await SayAsync($"hosted DIDs: {hosted.Count}");
            return hosted.Count;
        }

        private async Task<int> CopyNoncesAsync(DatabaseSource source, CancellationToken cancellationToken)
        {
            var scopes = await source.ListSpentNoncesAsync(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), cancellationToken);
            var ledger = new AzureTableNonceLedger(request.Target.Tables.GetTableClient(request.Target.TableName(AzureStorageAccount.SpentNoncesTable)));
            foreach (var (scope, nonces) in scopes)
            {
                await ledger.CarryOverAsync(scope, nonces, cancellationToken);
            }

            var count = scopes.Values.Sum(n => n.Count);
            await SayAsync($"spent nonces: {count} still within their window, in {scopes.Count} scope(s)");
            return count;
        }

        private async Task<int> CopyPeerIdentitiesAsync(DatabaseSource source, CancellationToken cancellationToken)
        {
            if (source.Provider == DatabaseKind.Sqlite)
            {
                await SayAsync($"peer identities: the embedded node keeps its own in its data directory (p2p-identity.json); not copied");
                return 0;
            }

            var identities = await source.ListPeerIdentitiesAsync(cancellationToken);
            var table = request.Target.Tables.GetTableClient(request.Target.TableName(AzureStorageAccount.PeerIdentitiesTable));
            foreach (var (siloName, peerId, kekId, nonce, ciphertext) in identities)
            {
                // As AzureTablePeerIdentityStore keeps it; still sealed, under the same key-encryption key.
                var entity = new TableEntity(PeerIdentityPartition, AzureTableKey.Encode(siloName))
                {
                    ["SiloName"] = siloName,
                    ["PeerId"] = peerId,
                    ["KekId"] = kekId,
                    ["Nonce"] = nonce,
                    ["Ciphertext"] = ciphertext,
                };
                try
                {
                    await table.AddEntityAsync(entity, cancellationToken);
                }
                catch (RequestFailedException e) when (e.Status == 409)
                {
                    var there = (await table.GetEntityAsync<TableEntity>(entity.PartitionKey, entity.RowKey, cancellationToken: cancellationToken)).Value;
                    if (there.GetString("KekId") != kekId || !there.GetBinary("Nonce").AsSpan().SequenceEqual(nonce) || !there.GetBinary("Ciphertext").AsSpan().SequenceEqual(ciphertext))
                    {
                        _conflicts.Add($"peer identity of silo {siloName}: the target holds a different one");
                    }
                }
            }

            await SayAsync($"peer identities: {identities.Count}");
            return identities.Count;
        }

        private async Task<int> VerifyAsync(DatabaseSource source, AzureTableUpdateLog target, CancellationToken cancellationToken)
        {
            var mismatches = 0;
            foreach (var did in await source.ListLogDidsAsync(cancellationToken))
            {
                var expected = LogExport.Digest(await LogExport.ReadAsync(source.Log, did, cancellationToken));
                var actual = LogExport.Digest(await LogExport.ReadAsync(target, did, cancellationToken));
                if (expected != actual)
                {
                    mismatches++;
                    await SayAsync($"verification: {did} differs: source {expected}, target {actual}");
                }
            }

            return mismatches;
        }

        /// <summary>Silos of the target's membership table not known to be gone whose row changed within the window (a heartbeat rewrites it).</summary>
        private async Task<List<string>> LiveTargetMembersAsync(CancellationToken cancellationToken)
        {
            var since = DateTimeOffset.UtcNow - LiveMemberWindow;
            var live = new List<string>();
            var silos = request.Target.Tables.GetTableClient(request.Target.TableName(AzureStorageAccount.SilosTable));
            await foreach (var row in silos.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
            {
                if (row.GetString("Status") is { } status && status is not ("Dead" or "None") && row.Timestamp > since)
                {
                    live.Add($"{row.GetString("SiloName")} ({row.GetString("Address")}:{row.GetString("Port")}, {status})");
                }
            }

            return live;
        }

        private Task SayAsync(string line) => output.WriteLineAsync(line);
    }

    private const string PeerIdentityPartition = "peer";

    private static readonly LogBounds LogMissing = new(1, 0);
}

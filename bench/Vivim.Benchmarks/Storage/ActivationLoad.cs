using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Vivim.Anchors;
using Vivim.Benchmarks.Cluster;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Merkle;
using Vivim.Storage;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// Activation of an anchor whose state holds many documents: the grain rebuilds its tree from the durable log.
/// Printed with the two ways of reading what it needs from the log alone — whole documents (JSON included) and
/// leaves only (path and value) — to show what the lean read saves.
/// Usage: <c>dotnet run -c Release -- activation [--db sqlite|postgres|azure] [--connection ...] [--documents 1000000] [--batch 5000]</c>.
/// </summary>
internal static class ActivationLoad
{
    public static async Task RunAsync(string[] args)
    {
        var count = BenchArgs.Int(args, "--documents", 1_000_000);
        var perAppend = BenchArgs.Int(args, "--batch", 5000);
        await using var database = await BenchDatabase.OpenAsync(args);
        using var key = SigningKey.Generate();
        var did = key.Did.Value;

        // Filled through the log: each append is one update that wrote a batch of documents (activation reads only documents).
        Console.WriteLine($"Activation of an anchor with {count:N0} documents in {database.Description}; filling…");
        var fill = Stopwatch.StartNew();
        var expected = new SparseMerkleTree(count);
        var seq = 0L;
        for (var first = 0; first < count; first += perAppend)
        {
            seq++;
            var changes = new List<DocumentChange>(perAppend);
            for (var i = first; i < Math.Min(count, first + perAppend); i++)
            {
                var path = $"memoryIndex/notes/{i}";
                var json = $$"""{"title":"note {{i}}","body":"{{new string('x', 200)}}","tags":["a","b"]}""";
                var value = SHA256.HashData(Encoding.UTF8.GetBytes(json));
                changes.Add(new DocumentChange(path, json, value, seq));
                expected.Set(path, value);
            }

            var hash = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(seq)));
            await database.Log.AppendAsync(did, new LogAppend(
                [new LoggedUpdate(seq, $"fill-{seq}", hash, hash, $$"""{"seq":{{seq}}}""")],
                new LoggedCommit(seq, seq, $$"""{"fromSeq":{{seq}},"toSeq":{{seq}}}"""),
                changes));
        }

        Console.WriteLine($"filled in {fill.Elapsed.TotalSeconds:0.0} s ({seq} appends)");

        var documents = Stopwatch.StartNew();
        var pairs = new List<KeyValuePair<string, byte[]>>();
        await foreach (var document in database.Log.ReadDocumentsAsync(did))
        {
            pairs.Add(KeyValuePair.Create(document.Path, document.Value));
        }

        var fromDocuments = SparseMerkleTree.BuildFromPaths(pairs).RootHex;
        var documentsElapsed = documents.Elapsed;
        pairs = null;

        var leaves = Stopwatch.StartNew();
        var fromLeaves = (await StateTreeReader.ReadAsync(database.Log, did)).RootHex;
        var leavesElapsed = leaves.Elapsed;
        Check(expected.RootHex, fromDocuments, "documents");
        Check(expected.RootHex, fromLeaves, "leaves");

        await using var cluster = await BenchCluster.StartAsync(updateLog: database.Log);
        var anchor = cluster.Client.GetGrain<IAnchorStateGrain>(did);
        var times = new List<TimeSpan>();
        for (var round = 0; round < 3; round++)
        {
            var clock = Stopwatch.StartNew();
            var head = await anchor.GetHeadAsync();
            times.Add(clock.Elapsed);
            Check(expected.RootHex, head.Root, "the anchor");
            if (head.Seq != seq)
            {
                throw new InvalidOperationException($"The anchor activated at seq {head.Seq}, not {seq}.");
            }

            await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        }

        GC.Collect();
        Console.WriteLine($"read whole documents + build tree (the log alone): {documentsElapsed.TotalSeconds:0.00} s");
        Console.WriteLine($"read leaves only + build tree (the log alone):     {leavesElapsed.TotalSeconds:0.00} s ({documentsElapsed / leavesElapsed:0.0}x faster)");
        Console.WriteLine($"anchor activation with {count:N0} documents (first call to a deactivated anchor, root checked): {string.Join(", ", times.Select(t => $"{t.TotalSeconds:0.00} s"))}");
    }

    private static void Check(string expected, string actual, string what)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The tree rebuilt from {what} has root {actual}, expected {expected}.");
        }
    }
}

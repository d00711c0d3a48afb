using BenchmarkDotNet.Running;
using Vivim.Benchmarks.Cluster;

// Load generators that need a cluster run by name; everything else goes to BenchmarkDotNet.
switch (args.FirstOrDefault())
{
    case "ingest":
        await IngestLoad.RunAsync(args);
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        break;
}

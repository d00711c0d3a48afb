using BenchmarkDotNet.Running;
using Vivim.Benchmarks;
using Vivim.Benchmarks.Cluster;
using Vivim.Benchmarks.Gateway;
using Vivim.Benchmarks.Storage;

// Load generators run by name; everything else goes to BenchmarkDotNet.
switch (args.FirstOrDefault())
{
    case "ingest":
        await IngestLoad.RunAsync(args);
        return 0;
    case "fanout":
        await FanoutLoad.RunAsync(args);
        return 0;
    case "durable-ingest":
        await DurableIngestLoad.RunAsync(args);
        return 0;
    case "catchup":
        await CatchUpLoad.RunAsync(args);
        return 0;
    case "activation":
        await ActivationLoad.RunAsync(args);
        return 0;
    case "idle-tenants":
        await IdleTenantsLoad.RunAsync(args);
        return 0;
    case "gateway-ingest":
        return await GatewayIngestLoad.RunAsync(args);
    case "gateway-ingest-telemetry":
        return await GatewayIngestLoad.RunTelemetryComparisonAsync(args);
    case "gateway-clone-ingest":
        return await GatewayCloneIngestLoad.RunAsync(args);
    case "gateway-fanout":
        return await GatewayFanoutLoad.RunAsync(args);
    case FanoutSocketBaseline.Command:
        return await FanoutSocketBaseline.ServeAsync();
    case "p2p-pull":
        return await P2pPullLoad.RunAsync(args);
    case "p2p-clone":
        return await P2pCloneLoad.RunAsync(args);
    case "gossip-notice":
        return await GossipNoticeLoad.RunAsync(args);
    case "update-costs":
        return UpdateCosts.Run(args);
    case "libp2p":
        return await Libp2pLoad.RunAsync(args[1..]);
    default:
        // Not typeof(Program): the referenced gateway has a public Program too.
        BenchmarkSwitcher.FromAssembly(System.Reflection.Assembly.GetExecutingAssembly()).Run(args);
        return 0;
}

using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "libp2p")
{
    return await Vivim.Benchmarks.Libp2pLoad.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

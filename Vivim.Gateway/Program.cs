using Vivim.Gateway.Hosting;

await GatewayApp.Create(args).RunAsync();

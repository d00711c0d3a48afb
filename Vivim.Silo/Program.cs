using Microsoft.Extensions.Hosting;
using Vivim.Hosting;

// A scale-out worker: grains only, no public endpoints.
var builder = Host.CreateApplicationBuilder(args);
builder.AddVivimSilo();
await builder.Build().RunAsync();

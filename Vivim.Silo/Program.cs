using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vivim.Hosting;

// "copy-storage" copies a stopped deployment's data to Azure Storage and exits (docs/azure.md, "Move from PostgreSQL").
if (args is ["copy-storage", .. var copyArgs])
{
    return await CopyStorageCommand.RunAsync(copyArgs, Console.Out);
}

// "migrate" applies the database schema and exits; otherwise this is a scale-out worker: grains only, no public endpoints.
if (args is ["migrate", .. var rest])
{
    var tool = Host.CreateApplicationBuilder(rest);
    tool.AddVivimLoggingDefaults();
    using var services = tool.Services.BuildServiceProvider();
    return await MigrateCommand.RunAsync(tool.Configuration, services.GetRequiredService<ILoggerFactory>());
}

var builder = Host.CreateApplicationBuilder(args);
builder.AddVivimLoggingDefaults();
try
{
    builder.AddVivimSilo();
}
catch (PortInUseException e)
{
    await Console.Error.WriteLineAsync("vivim silo: " + e.Message);
    return 1;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync("vivim silo: " + e.Message);
    return 1;
}

await builder.Build().RunAsync();
return 0;

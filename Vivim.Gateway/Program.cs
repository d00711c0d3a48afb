using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Vivim.Gateway.Hosting;
using Vivim.Hosting;

WebApplication app;
try
{
    app = GatewayApp.Create(args);
}
catch (PortInUseException e)
{
    await Console.Error.WriteLineAsync("vivim gateway: " + e.Message);
    return 1;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync("vivim gateway: " + e.Message);
    return 1;
}

try
{
    await app.RunAsync();
}
catch (IOException e) when (e.InnerException is AddressInUseException)
{
    // Taken after the check: Kestrel already said so in the log; the last line says what to do.
    await Console.Error.WriteLineAsync("vivim gateway: " + HttpListenUrls.InUse(e.Message));
    return 1;
}
catch (PortInUseException e)
{
    // A libp2p port taken after the check.
    await Console.Error.WriteLineAsync("vivim gateway: " + e.Message);
    return 1;
}

return 0;

using Vivim.Hosting;

namespace Vivim.Gateway.Hosting;

/// <summary>The all-in-one node: a silo with the gateway role and the public HTTP/WebSocket API in one process.</summary>
public static class GatewayApp
{
    /// <summary>The address the embedded default listens on when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://localhost:8080";

    /// <exception cref="PortInUseException">The API's, the silo's or the Orleans gateway's port is taken.</exception>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddVivimLoggingDefaults();
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        HttpListenUrls.EnsureFree(builder.Configuration[WebHostDefaults.ServerUrlsKey] ?? DefaultUrl);
        builder.AddVivimSilo(SiloRoles.Gateway);
        builder.AddVivimGateway();
        configure?.Invoke(builder);
        return builder.Build().MapVivimGateway();
    }
}

using Vivim.Hosting;

namespace Vivim.Gateway.Hosting;

/// <summary>The all-in-one node: a silo with the gateway role and the public HTTP endpoints in one process.</summary>
public static class GatewayApp
{
    /// <summary>The address the embedded default listens on when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://localhost:8080";

    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.AddVivimSilo();
        builder.Services.AddSingleton<HostLifecycleHealth>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HostLifecycleHealth>());

        var app = builder.Build();
        app.MapHealthEndpoints();
        return app;
    }
}

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Vivim.Gateway.Api;
using Vivim.Gateway.Api.OpenApi;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Limits;
using Vivim.Gateway.P2p;
using Vivim.Gateway.P2p.Protocols;
using Vivim.Gateway.Sync;
using Vivim.Gateway.TenantConsole;
using Vivim.Hosting;
using Vivim.Management;
using Vivim.Security;

namespace Vivim.Gateway.Hosting;

/// <summary>Composition of the gateway role: the public HTTP/WebSocket API in front of the silo it runs in.</summary>
public static class GatewayHostingExtensions
{
    public const string CorsPolicy = "vivim";

    public static WebApplicationBuilder AddVivimGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section));
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection(RateLimitOptions.Section));
        services.AddOptions<CorsOptions>().Bind(configuration.GetSection(CorsOptions.Section));
        services.AddSingleton<HostLifecycleHealth>();
        services.AddHostedService(sp => sp.GetRequiredService<HostLifecycleHealth>());
        services.AddVivimSessionHub(configuration);
        services.AddSingleton<OperatorKey>();
        services.AddSingleton<NodeReadyNotice>();
        services.AddSingleton<TenantKeyGrants>();
        services.AddSingleton<ApiAuthentication>();
        services.AddSingleton<GatewayRateLimiter>();
        services.AddSingleton<HostedDidGate>();
        services.AddSingleton<ExitNodeEventStream>();

        // Binding failures (?limit=abc, a missing route value) reach ApiErrors as exceptions, so they are problems too.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddSingleton<SyncSocketRegistry>();
        services.AddSingleton<SyncSocket>();
        builder.AddVivimP2p();
        if ((configuration.GetSection(P2pOptions.Section).Get<P2pOptions>() ?? new P2pOptions()).Enabled)
        {
            services.AddVivimP2pNetwork(configuration);
        }
        services.AddVivimP2pProtocols(configuration);

        var cors = configuration.GetSection(CorsOptions.Section).Get<CorsOptions>() ?? new CorsOptions();
        services.AddCors(o => o.AddPolicy(CorsPolicy, policy => policy
            .WithOrigins([.. cors.Origins])
            .WithMethods("GET", "POST", "PUT", "DELETE")
            .WithHeaders("Authorization", "Content-Type", "Content-Digest", "Signature", "Signature-Input")
            .WithExposedHeaders("Retry-After")));

        var gateway = configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = gateway.MaxRequestBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            kestrel.ConfigureEndpointDefaults(listen => listen.UseServerRejectionProblems());
        });
        services.Configure<KestrelServerOptions>(o => o.AddServerHeader = false);
        return builder;
    }

    /// <summary>
    /// <c>/metrics</c> on the public API's port too, only with <c>Vivim:Management:MetricsOnPublicPort</c> (the
    /// management port serves it anyway), under the management port's key rule.
    /// </summary>
    private static void MapPublicMetrics(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<ManagementSettings>();
        if (!settings.MetricsOnPublicPort || app.Services.GetService<MeterProvider>() is null)
        {
            return;
        }

        var access = new ManagementAccess(app.Services.GetRequiredService<OperatorKey>());
        app.Use((context, next) =>
            settings.RequireOperatorKey && context.Request.Path.Equals(ManagementPaths.Metrics, StringComparison.OrdinalIgnoreCase) && !access.IsAuthorized(context.Request)
                ? ManagementAccess.ChallengeAsync(context)
                : next(context));
        app.MapPrometheusScrapingEndpoint(ManagementPaths.Metrics).ExcludeFromDescription();
    }

    /// <summary>The middleware and every route of the API (docs/api.md), health, and the OpenAPI document.</summary>
    public static WebApplication MapVivimGateway(this WebApplication app)
    {
        app.UseMiddleware<ApiErrors>();
        app.UseCors(CorsPolicy);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });

        var limiter = app.Services.GetRequiredService<GatewayRateLimiter>();
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
            {
                limiter.ForAddress(context.Connection.RemoteIpAddress?.ToString());
                RequestBounds.CheckRoute(context);
            }

            return next(context);
        });

        app.MapHealthEndpoints();
        app.MapOpenApiDocument();
        app.MapPublicMetrics();
        app.MapConsole();

        var auth = app.Services.GetRequiredService<ApiAuthentication>();
        var v1 = app.MapGroup("/v1");
        v1.MapTenantEndpoints(auth);
        v1.MapExitNodeEndpoints(auth);
        v1.MapDiscoveryEndpoints(auth);
        v1.MapCloneEndpoints(auth);
        v1.MapP2pEndpoints(auth);
        SyncSocket.Map(v1);

        // Unknown routes are problems too, not empty 404s.
        app.MapFallback(() => ApiProblem.NotFound("No such route. The API is described at /openapi/v1.json.")).ExcludeFromDescription();

        // The operator key is created (embedded) or checked (configured) at start, not on the first request; then the
        // node says where it is and what to type next.
        app.Lifetime.ApplicationStarted.Register(() => app.Services.GetRequiredService<NodeReadyNotice>().Log());
        return app;
    }
}

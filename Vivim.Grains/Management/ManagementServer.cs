using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;
using Vivim.Security;

namespace Vivim.Management;

/// <summary>
/// The management port: a Kestrel server of its own, on <see cref="ManagementOptions.Urls"/> only, with its own
/// pipeline over the host's services — <c>/metrics</c> (Prometheus text), <c>/status</c> (JSON for <c>vivim status</c>)
/// and <c>/dashboard</c> (the Orleans dashboard) — so none of it is ever reachable through the public API's port, and
/// none of the API through this one. Every request passes <see cref="ManagementAccess"/> first, and acts as the
/// operator towards grains once it has.
/// </summary>
public sealed partial class ManagementServer(
    IServiceProvider services,
    ManagementSettings settings,
    ILoggerFactory loggerFactory,
    ILogger<ManagementServer> logger) : IHostedService, IAsyncDisposable
{
    private KestrelServer? _server;

    /// <summary>The addresses the server listens on once started (empty when it is off).</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var access = settings.RequireOperatorKey || settings.Dashboard ? new ManagementAccess(services.GetRequiredService<OperatorKey>()) : null;
        var kestrel = new KestrelServerOptions { ApplicationServices = services, AddServerHeader = false };
        kestrel.Limits.MaxRequestBodySize = 16 * 1024;
        kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
        kestrel.Limits.MaxRequestLineSize = 8 * 1024;
        kestrel.Limits.MaxConcurrentConnections = 100;
        var server = new KestrelServer(Options.Create(kestrel), new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggerFactory), loggerFactory);
        var addresses = server.Features.GetRequiredFeature<IServerAddressesFeature>();
        foreach (var url in settings.Urls)
        {
            addresses.Addresses.Add(url);
        }

        try
        {
            await server.StartAsync(new Application(BuildPipeline(access), new DefaultHttpContextFactory(services)), cancellationToken);
        }
        catch (IOException e) when (e.InnerException is AddressInUseException && !settings.Explicit)
        {
            // The embedded node's default port: a second node on this machine runs without it rather than not at all.
            LogDefaultPortTaken(logger, string.Join(", ", settings.Urls), ManagementOptions.Section);
            await server.StopAsync(CancellationToken.None);
            server.Dispose();
            return;
        }

        _server = server;
        Addresses = [.. addresses.Addresses];
        LogListening(logger, string.Join(", ", Addresses), settings.Dashboard ? ", /dashboard" : string.Empty, access is null ? "without" : "with");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server)
        {
            await server.StopAsync(cancellationToken);
        }
    }

    public ValueTask DisposeAsync()
    {
        _server?.Dispose();
        _server = null;
        return ValueTask.CompletedTask;
    }

    private RequestDelegate BuildPipeline(ManagementAccess? access)
    {
        var app = new ApplicationBuilder(services);
        var principals = services.GetRequiredService<CallPrincipals>();
        app.Use(async (context, next) =>
        {
            var dashboard = context.Request.Path.StartsWithSegments(ManagementPaths.Dashboard, StringComparison.OrdinalIgnoreCase);
            if ((dashboard || settings.RequireOperatorKey) && access?.IsAuthorized(context.Request) != true)
            {
                await ManagementAccess.ChallengeAsync(context);
                return;
            }

            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.XFrameOptions = "DENY";
            using (principals.Enter(CallPrincipal.Operator))
            {
                await next(context);
            }
        });
        app.UseRouting();
        app.UseEndpoints(endpoints =>
        {
            // Excluded from the API's description: the global endpoint list also holds these, the public port never serves them.
            if (services.GetService<MeterProvider>() is not null)
            {
                endpoints.MapPrometheusScrapingEndpoint(ManagementPaths.Metrics).ExcludeFromDescription();
            }

            endpoints.MapGet(ManagementPaths.Status, (HttpContext context) => context.RequestServices.GetRequiredService<ManagementStatus>().WriteAsync(context)).ExcludeFromDescription();
            if (settings.Dashboard)
            {
                endpoints.MapOrleansDashboard(ManagementPaths.Dashboard).ExcludeFromDescription();
            }

            endpoints.MapFallback((HttpContext context) => Results.NotFound()).ExcludeFromDescription();
        });
        return app.Build();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Management endpoints on {Addresses}: /metrics, /status{Dashboard}, {KeyRule} the operator key")]
    private static partial void LogListening(ILogger logger, string addresses, string dashboard, string keyRule);

    [LoggerMessage(Level = LogLevel.Information, Message = "The management port {Urls} is taken (another node on this machine?): this node runs without /metrics, /status and /dashboard; set {Section}:Urls to another port")]
    private static partial void LogDefaultPortTaken(ILogger logger, string urls, string section);

    /// <summary>The host's pipeline as Kestrel runs it: one context per request from the host's services.</summary>
    private sealed class Application(RequestDelegate pipeline, IHttpContextFactory contexts) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => contexts.Create(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => pipeline(context);

        public void DisposeContext(HttpContext context, Exception? exception) => contexts.Dispose(context);
    }
}

/// <summary>The management port's routes.</summary>
public static class ManagementPaths
{
    public const string Metrics = "/metrics";
    public const string Status = "/status";
    public const string Dashboard = "/dashboard";
}

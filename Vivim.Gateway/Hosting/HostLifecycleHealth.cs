namespace Vivim.Gateway.Hosting;

/// <summary>
/// Health from the host's lifecycle: started once every hosted service (the silo included) has started, ready until
/// shutdown begins, so a load balancer stops sending work before the silo leaves the cluster.
/// </summary>
public sealed class HostLifecycleHealth : IHostedLifecycleService
{
    private volatile bool _started;
    private volatile bool _stopping;

    public bool Started => _started;

    public bool Ready => _started && !_stopping;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _started = true;
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class HealthEndpoints
{
    /// <summary><c>/health/startup</c>, <c>/health/ready</c> (503 until started and while stopping) and <c>/health/live</c>.</summary>
    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.ServiceProvider.GetRequiredService<HostLifecycleHealth>();
        app.MapGet("/health/startup", () => health.Started ? Results.Ok(new { status = "started" }) : Results.StatusCode(StatusCodes.Status503ServiceUnavailable))
            .WithName("getStartupHealth");
        app.MapGet("/health/ready", () => health.Ready ? Results.Ok(new { status = "ready" }) : Results.StatusCode(StatusCodes.Status503ServiceUnavailable))
            .WithName("getReadiness");

        // Liveness never touches grains or storage: a slow dependency must not get the process restarted.
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).WithName("getLiveness");
    }
}

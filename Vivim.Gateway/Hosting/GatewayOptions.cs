namespace Vivim.Gateway.Hosting;

/// <summary>Configuration section <c>Vivim:Gateway</c>: request limits of the public API.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Vivim:Gateway";

    /// <summary>The largest request body (update batches); other bodies are limited to <see cref="MaxSmallBodyBytes"/>.</summary>
    public int MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    public int MaxSmallBodyBytes { get; set; } = 64 * 1024;

    /// <summary>The largest WebSocket message a clone may send (hello, acks).</summary>
    public int MaxClientMessageBytes { get; set; } = 4 * 1024;

    /// <summary>Signed requests are accepted within this much of their <c>created</c> time.</summary>
    public TimeSpan SignatureWindow { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>How long a WebSocket may take to say hello.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The public HTTP base URL clones reach this gateway at (a registration answer's <c>endpoints.api</c>); the
    /// first listen URL when unset.
    /// </summary>
    public string? PublicUrl { get; set; }
}

/// <summary><c>Vivim:RateLimits</c>: token buckets per client address and per DID at each gateway (tenants' come from their quotas).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Vivim:RateLimits";

    public int PerAddressPerSecond { get; set; } = 500;

    public int PerDidPerSecond { get; set; } = 200;
}

/// <summary><c>Vivim:Cors</c>: browser origins allowed to call the API (none by default).</summary>
public sealed class CorsOptions
{
    public const string Section = "Vivim:Cors";

    public List<string> Origins { get; set; } = [];
}

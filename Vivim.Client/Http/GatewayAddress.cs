namespace Vivim.Client.Http;

/// <summary>Gateway base addresses: absolute http(s), with a trailing slash so relative targets resolve under it.</summary>
public static class GatewayAddress
{
    public const string Default = "http://localhost:8080";

    public static Uri Normalize(Uri gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        if (!gateway.IsAbsoluteUri || (gateway.Scheme != Uri.UriSchemeHttp && gateway.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The gateway address must be an absolute http or https URL, not '{gateway}'.", nameof(gateway));
        }

        return gateway.AbsoluteUri.EndsWith('/') ? gateway : new Uri(gateway.AbsoluteUri + "/");
    }

    public static Uri Parse(string gateway)
    {
        if (!Uri.TryCreate(gateway, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException($"The gateway address '{gateway}' is not an absolute URL.", nameof(gateway));
        }

        return Normalize(uri);
    }
}

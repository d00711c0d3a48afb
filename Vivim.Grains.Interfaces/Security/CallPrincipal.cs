namespace Vivim.Security;

/// <summary>Who a call from outside the cluster acts for.</summary>
public enum PrincipalKind
{
    /// <summary>The service's operator (in-cluster tools, tenant creation and deletion): may call anything.</summary>
    Operator,

    /// <summary>A gateway's own work: authenticating requests, subscribing its hub to streams, reading heads.</summary>
    Service,

    /// <summary>A tenant, authenticated by one of its API keys; <see cref="CallPrincipal.Subject"/> is the tenant id.</summary>
    Tenant,

    /// <summary>A clone, authenticated by its DID's request signature; <see cref="CallPrincipal.Subject"/> is the clone id.</summary>
    Clone,

    /// <summary>Anyone: discovery and registration.</summary>
    Public,
}

/// <summary>The principal a gateway vouches for on a call into the cluster.</summary>
public sealed record CallPrincipal(PrincipalKind Kind, string Subject)
{
    public static CallPrincipal Operator { get; } = new(PrincipalKind.Operator, string.Empty);

    public static CallPrincipal Service { get; } = new(PrincipalKind.Service, string.Empty);

    public static CallPrincipal Public { get; } = new(PrincipalKind.Public, string.Empty);

    public static CallPrincipal ForTenant(string tenantId) => new(PrincipalKind.Tenant, tenantId);

    public static CallPrincipal ForClone(string cloneId) => new(PrincipalKind.Clone, cloneId);

    public bool IsTenant(string tenantId) => Kind == PrincipalKind.Tenant && string.Equals(Subject, tenantId, StringComparison.Ordinal);

    public bool IsClone(string cloneId) => Kind == PrincipalKind.Clone && string.Equals(Subject, cloneId, StringComparison.Ordinal);

    public override string ToString() => Subject.Length == 0 ? Kind.ToString() : $"{Kind} {Subject}";
}

/// <summary>A call from outside the cluster without a valid principal, or with one that may not make it (HTTP 403/404 at the edge).</summary>
[GenerateSerializer, Alias("vivim.AccessDeniedException")]
public sealed class AccessDeniedException(string message) : Exception(message);

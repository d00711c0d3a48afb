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

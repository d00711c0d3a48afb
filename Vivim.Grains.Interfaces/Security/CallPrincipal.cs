namespace Vivim.Security;

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

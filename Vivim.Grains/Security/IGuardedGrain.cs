namespace Vivim.Security;

/// <summary>
/// A grain that says which principals from outside the cluster may call which of its methods. Grains without it can be
/// called from outside by the operator only.
/// </summary>
public interface IGuardedGrain
{
    /// <summary>True when <paramref name="principal"/> may call <paramref name="method"/> (an interface method name) now.</summary>
    bool Allows(CallPrincipal principal, string method);
}

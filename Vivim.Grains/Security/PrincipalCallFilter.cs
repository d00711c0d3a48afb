using Microsoft.Extensions.Logging;

namespace Vivim.Security;

/// <summary>
/// The silo's last line of tenant isolation: every call that comes from a client (a gateway's hosted client or an
/// external one) must carry a principal token minted with the cluster secret, and the target grain must allow that
/// principal (default deny). Calls from grains, system targets and timers are the cluster's own and pass.
/// </summary>
public sealed partial class PrincipalCallFilter(CallPrincipals principals, ILogger<PrincipalCallFilter> logger) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        // Grains and system targets calling are the cluster itself; system targets called are the runtime's own
        // plumbing (clients ask them for manifests and gateways), holding no tenant's data.
        var target = context.TargetId;
        if ((context.SourceId is { } source && !GrainTypePrefix.IsClient(source)) || GrainTypePrefix.IsSystemTarget(target))
        {
            return context.Invoke();
        }

        var principal = principals.Current;
        if (principal is not null && Allows(principal, context))
        {
            return context.Invoke();
        }

        LogDenied(logger, principal?.ToString() ?? "no valid principal", context.TargetId.ToString(), context.InterfaceMethod?.Name ?? "?");
        throw new AccessDeniedException(principal is null
            ? "This call needs a valid principal."
            : $"{principal.Kind} may not call {context.InterfaceMethod?.Name} here.");
    }

    private static bool Allows(CallPrincipal principal, IIncomingGrainCallContext context)
    {
        if (principal.Kind == PrincipalKind.Operator)
        {
            return true;
        }

        var method = context.InterfaceMethod?.Name ?? string.Empty;
        return context.Grain switch
        {
            IGuardedGrain guarded => guarded.Allows(principal, method),

            // A gateway's hub subscribes to streams through Orleans' own grains.
            { } grain => principal.Kind == PrincipalKind.Service && grain.GetType().Namespace?.StartsWith("Orleans.Streams", StringComparison.Ordinal) == true,
            _ => false,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a call by {Principal} to {Grain}.{Method}")]
    private static partial void LogDenied(ILogger logger, string principal, string grain, string method);
}

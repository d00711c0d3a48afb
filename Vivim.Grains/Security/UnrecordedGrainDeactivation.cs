namespace Vivim.Security;

/// <summary>
/// Ends, right after the call, an activation that a caller from outside the cluster woke for an id that was never
/// created: a guessed DID, clone or tenant id should cost one call, not an activation that lives until the idle
/// collection minutes later (thousands of random ids held ~100 MB). Runs outside the principal check, so refused
/// calls are covered too.
/// </summary>
public sealed class UnrecordedGrainDeactivation : IIncomingGrainCallFilter
{
    private static readonly DeactivationReason NeverCreated = new(DeactivationReasonCode.ApplicationRequested, "No record: the id was never created.");

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await context.Invoke();
        }
        finally
        {
            if (context.Grain is IRecordedGrain { IsRecorded: false } && (context.SourceId is not { } source || GrainTypePrefix.IsClient(source)))
            {
                context.TargetContext.Deactivate(NeverCreated);
            }
        }
    }
}

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

    public Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Only a call from outside the cluster can wake a grain for nothing; the cluster's own calls pass untouched
        // (this filter runs on every grain call, and most complete before they return).
        if (context.Grain is not IRecordedGrain || (context.SourceId is { } source && !GrainTypePrefix.IsClient(source)))
        {
            return context.Invoke();
        }

        Task call;
        try
        {
            // The principal check under this filter refuses by throwing at once.
            call = context.Invoke();
        }
        catch
        {
            EndIfUnrecorded(context);
            throw;
        }

        if (call.IsCompleted)
        {
            EndIfUnrecorded(context);
            return call;
        }

        return EndIfUnrecordedAfterAsync(call, context);
    }

    private static async Task EndIfUnrecordedAfterAsync(Task call, IIncomingGrainCallContext context)
    {
        try
        {
            await call;
        }
        finally
        {
            EndIfUnrecorded(context);
        }
    }

    private static void EndIfUnrecorded(IIncomingGrainCallContext context)
    {
        if (context.Grain is IRecordedGrain { IsRecorded: false })
        {
            context.TargetContext.Deactivate(NeverCreated);
        }
    }
}

namespace Vivim.Protocol.Sync;

[GenerateSerializer, Alias("vivim.SubmitOutcome")]
public enum SubmitOutcome
{
    /// <summary>Every update is committed (or was already, for retries); receipts are index-aligned.</summary>
    Committed,

    /// <summary>Bad input: nothing was committed.</summary>
    Rejected,

    /// <summary>An author may not write (unknown, suspended, read-only): nothing was committed.</summary>
    Forbidden,

    /// <summary>A <c>baseSeq</c> precondition failed: nothing was committed.</summary>
    Conflict,

    /// <summary>The batch would take the state past its bytes-of-state quota: nothing was committed.</summary>
    QuotaExceeded,
}

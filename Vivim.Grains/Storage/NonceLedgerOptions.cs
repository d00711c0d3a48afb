namespace Vivim.Storage;

/// <summary>Configuration section <c>Vivim:Nonces</c>: how expired spent nonces are deleted.</summary>
public sealed class NonceLedgerOptions
{
    public const string Section = "Vivim:Nonces";

    /// <summary>How often each silo deletes expired nonces (expired rows count as absent before that already).</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Rows per delete statement: each is a short transaction, so spends never wait long behind a prune.</summary>
    public int PruneBatchSize { get; set; } = 1000;

    /// <summary>Batches per round at most; the rest waits for the next round, so a backlog never holds the database.</summary>
    public int MaxBatchesPerRound { get; set; } = 100;
}

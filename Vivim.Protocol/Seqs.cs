namespace Vivim.Protocol;

/// <summary>Seqs that only move forward (heads, cursors), shared between threads without a lock.</summary>
public static class Seqs
{
    /// <summary>Raises <paramref name="target"/> to <paramref name="seq"/> unless it is already there or beyond.</summary>
    public static void RaiseTo(ref long target, long seq)
    {
        var current = Interlocked.Read(ref target);
        while (seq > current)
        {
            var seen = Interlocked.CompareExchange(ref target, seq, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

using System.Runtime.CompilerServices;

namespace Vivim.Storage;

public static class HostedDidDirectoryExtensions
{
    /// <summary>The page size of a full enumeration: a bounded read per round trip, whatever the number of DIDs.</summary>
    public const int PageSize = 1000;

    /// <summary>Every hosted DID, page by page in ordinal order.</summary>
    public static async IAsyncEnumerable<string> EnumerateAsync(this IHostedDidDirectory directory, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string? after = null;
        while (true)
        {
            var page = await directory.ListAsync(after, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var did in page)
            {
                yield return did;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1];
        }
    }
}

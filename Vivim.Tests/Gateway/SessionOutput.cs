using Vivim.Gateway.Sync;

namespace Vivim.Tests.Gateway;

/// <summary>Reading what a clone session sends, as its socket would.</summary>
internal static class SessionOutput
{
    /// <summary>The next message of type <typeparamref name="T"/>, skipping the others; fails if the session ends first.</summary>
    public static async Task<T> NextAsync<T>(CloneSession session, CancellationToken token)
        where T : SessionMessage
    {
        await foreach (var message in session.Outgoing.ReadAllAsync(token))
        {
            if (message is T wanted)
            {
                return wanted;
            }
        }

        throw new InvalidOperationException($"The session ended without a {typeof(T).Name}.");
    }
}

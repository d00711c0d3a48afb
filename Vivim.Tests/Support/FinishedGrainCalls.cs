using System.Collections.Concurrent;

namespace Vivim.Tests.Support;

/// <summary>
/// Counts the grain calls a silo finished, by method name: a test's fence for one-way calls and for calls another
/// component makes on its own schedule (a lease renewal, a cursor report from a grain timer).
/// </summary>
internal sealed class FinishedGrainCalls : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public int Count(string method) => _counts.GetValueOrDefault(method);

    /// <summary>Waits until <paramref name="method"/> has finished more than <paramref name="before"/> times.</summary>
    public Task AfterAsync(string method, int before) => Until.TrueAsync(() => Count(method) > before, () => $"{method} finished {Count(method)} times, not more than {before}");

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        finally
        {
            _counts.AddOrUpdate(context.MethodName, 1, (_, n) => n + 1);
        }
    }
}

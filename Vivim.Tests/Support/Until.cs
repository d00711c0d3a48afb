namespace Vivim.Tests.Support;

/// <summary>
/// Waits for state that raises no event by polling it. The bound matters only when something is broken, so it is long
/// enough for a loaded 2-core CI machine; when all is well no test waits it out.
/// </summary>
internal static class Until
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    public static Task TrueAsync(Func<bool> condition, Func<string> describe, TimeSpan? within = null) =>
        TrueAsync(() => Task.FromResult(condition()), describe, within);

    /// <param name="within">Longer than <see cref="Patience"/> for whole processes starting up.</param>
    public static async Task TrueAsync(Func<Task<bool>> condition, Func<string> describe, TimeSpan? within = null)
    {
        var bound = within ?? Patience;
        var deadline = DateTime.UtcNow + bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {bound.TotalSeconds:0} s: {describe()}");
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Retries an assertion until it holds; past the bound, its last failure is the test's failure.</summary>
    public static async Task HoldsAsync(Func<Task> assertion, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? Patience);
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(PollInterval * 5);
            }
        }
    }
}

namespace Vivim.Tests.Storage;

/// <summary>Retries an assertion until it holds or the time is up; the last failure is the test's failure.</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<Task> assertion, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Vivim.Tests.Support;

/// <summary>
/// A test cluster whose Vivim code runs on a clock the test advances: grains take the silo's <see cref="TimeProvider"/>
/// (leases, retention windows, challenge expiry, commit and cursor times). Orleans keeps real time everywhere, grain
/// timers included: in Orleans 10.4.2 grain timers follow the keyed <see cref="TimeProviderNames.Grains"/> clock, but so
/// do the timers of system targets such as the stream pulling agents, so a fake one there would stop memory streams.
/// </summary>
internal static class SiloClock
{
    /// <summary>Starts at the real time, so that tokens the test client mints on real time stay valid in the silo.</summary>
    public static FakeTimeProvider StartNow() => new(DateTimeOffset.UtcNow);

    /// <summary>Call after the silo's Vivim configuration: the last <see cref="TimeProvider"/> registered wins.</summary>
    public static ISiloBuilder UseClock(this ISiloBuilder silo, TimeProvider clock)
    {
        silo.Services.AddSingleton(clock);
        silo.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        silo.Services.AddKeyedSingleton(TimeProviderNames.Grains, TimeProvider.System);
        return silo;
    }
}

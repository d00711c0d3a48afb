using Microsoft.Extensions.Options;
using Vivim.Clones;

namespace Vivim.Tests.Hosting;

/// <summary>The clone grains' settings as a silo binds them from <c>Vivim:Clones</c>.</summary>
public sealed class CloneOptionsTests
{
    private static CloneOptions Bind(params (string Key, string Value)[] settings) => SiloOptions.Bind<CloneOptions>(settings);

    [Fact]
    public void The_cursor_flush_interval_defaults_to_thirty_seconds_and_binds_from_its_own_section()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Bind().CursorFlushInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), Bind(("Vivim:Clones:CursorFlushInterval", "00:00:05")).CursorFlushInterval);
        // The exit nodes' section no longer configures clone grains.
        Assert.Equal(TimeSpan.FromSeconds(30), Bind(("Vivim:ExitNodes:CursorFlushInterval", "00:00:05")).CursorFlushInterval);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:05")]
    public void An_interval_that_is_not_a_timer_period_is_refused(string interval)
    {
        var e = Assert.Throws<OptionsValidationException>(() => Bind(("Vivim:Clones:CursorFlushInterval", interval)));
        Assert.Contains("CursorFlushInterval", e.Message, StringComparison.Ordinal);
    }
}

using Microsoft.Extensions.Options;
using Vivim.Anchors;

namespace Vivim.Tests.Hosting;

/// <summary>The anchors' settings as a silo binds them from <c>Vivim:Anchors</c>.</summary>
public sealed class AnchorOptionsTests
{
    private static AnchorOptions Bind(params (string Key, string Value)[] settings) => SiloOptions.Bind<AnchorOptions>(settings);

    [Fact]
    public void The_listener_lease_defaults_to_a_minute_and_binds_from_configuration()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), Bind().ListenerLease);
        Assert.Equal(TimeSpan.FromSeconds(20), Bind(("Vivim:Anchors:ListenerLease", "00:00:20")).ListenerLease);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:05")]
    public void A_lease_that_would_never_let_an_anchor_publish_is_refused(string lease)
    {
        var e = Assert.Throws<OptionsValidationException>(() => Bind(("Vivim:Anchors:ListenerLease", lease)));
        Assert.Contains("ListenerLease", e.Message, StringComparison.Ordinal);
    }
}

namespace Vivim.Tests.Infrastructure;

/// <summary>The check the deployment tests rely on: it knows the hosts' settings and catches a misspelt one.</summary>
public sealed class HostSettingKeysTests
{
    [Fact]
    public void Settings_the_hosts_bind_or_read_pass()
    {
        Assert.Empty(HostSettingKeys.Unread(
        [
            "Vivim__Storage", "Vivim__Storage__Provider", "Vivim__Storage__ConnectionString", "ConnectionStrings__Vivim",
            "Vivim__SiloPort", "Vivim__GatewayPort", "Vivim__SiloName", "Vivim__AdvertisedAddress", "Vivim__ServiceId",
            "Vivim__ClusterId", "Vivim__ClusterSecret", "Vivim__OperatorKey", "Vivim__KeyEncryption__ActiveKeyId",
            "Vivim__KeyEncryption__Keys__kek_2026_12", "Vivim__P2p__Listen__0", "Vivim__P2p__Announce__1",
            "Vivim__P2p__Bootstrap__0", "Vivim__Gateway__PublicUrl", "AZURE_CLIENT_ID",
        ]));
    }

    [Fact]
    public void Misspelt_or_misplaced_settings_are_reported()
    {
        string[] wrong =
        [
            "Vivim__SiloPrt", "Vivim__P2p__Anounce__0", "Vivim__P2p__Listen", "Vivim__Storage__Conection",
            "Vivim__KeyEncryption__Keys", "Vivim__Gateway__PublicUrl__0", "ConnectionStrings__Vivm", "Vivim__P2P__Nope",
        ];
        Assert.Equal(wrong, HostSettingKeys.Unread(wrong));
    }

    [Fact]
    public void Sections_bound_elsewhere_are_left_to_their_own_tests() =>
        Assert.Empty(HostSettingKeys.Unread(["Logging__Console__FormatterName", "Vivim__Management__Urls", "OTEL_EXPORTER_OTLP_ENDPOINT"]));
}

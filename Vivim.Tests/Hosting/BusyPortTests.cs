using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Vivim.Tests.Cli;
using Vivim.Tests.Support;

namespace Vivim.Tests.Hosting;

/// <summary>
/// A node started on a port another process holds says so in one line — the port and the flag that moves it — and
/// exits 1, for each port it listens on.
/// </summary>
public sealed class BusyPortTests
{
    [Theory]
    [InlineData("Vivim.Gateway", "--urls")]
    [InlineData("Vivim.Gateway", "--Vivim:SiloPort")]
    [InlineData("Vivim.Gateway", "--Vivim:GatewayPort")]
    [InlineData("Vivim.Gateway", "--Vivim:P2p:Listen:0")]
    [InlineData("Vivim.Silo", "--Vivim:SiloPort")]
    [InlineData("Vivim.Silo", "--Vivim:GatewayPort")]
    public async Task A_host_whose_port_is_taken_names_the_port_and_its_flag_and_exits_1(string project, string flag)
    {
        // The holder reuses its address the way Orleans' listeners do (SO_REUSEPORT on Linux): a plain second bind
        // would not notice it.
        using var holder = HoldLoopbackPort(reuseAddress: flag != "--urls");
        var busy = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var ports = new Dictionary<string, int>
        {
            ["--urls"] = FreePort.Next(),
            ["--Vivim:SiloPort"] = FreePort.Next(),
            ["--Vivim:GatewayPort"] = FreePort.Next(),
            ["--Vivim:P2p:Listen:0"] = FreePort.Next(),
            [flag] = busy,
        };
        var data = Path.Combine(Path.GetTempPath(), "vivim-busy-" + Guid.NewGuid().ToString("N")[..12]);
        List<string> arguments =
        [
            "--Vivim:DataPath", data,
            "--Vivim:SiloPort", Text(ports["--Vivim:SiloPort"]),
            "--Vivim:GatewayPort", Text(ports["--Vivim:GatewayPort"]),
        ];
        if (project == "Vivim.Gateway")
        {
            arguments.AddRange(["--urls", "http://127.0.0.1:" + Text(ports["--urls"])]);
            arguments.AddRange(["--Vivim:P2p:Listen:0", "/ip4/127.0.0.1/tcp/" + Text(ports["--Vivim:P2p:Listen:0"])]);
        }

        try
        {
            await using var host = HostProcess.Start(project, arguments, hostLogging: true);
            Assert.Equal(1, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            AssertOneLineNaming(host.Output, busy, flag);
        }
        finally
        {
            DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task A_p2p_node_whose_listen_port_is_taken_names_the_port_and_its_flag_and_exits_1()
    {
        using var holder = HoldLoopbackPort(reuseAddress: false);
        var busy = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var home = Directory.CreateTempSubdirectory("vivim-busy-").FullName;
        try
        {
            var run = await VivimRun.RunAsync(home, home, null, "p2p", "node", "--listen", "/ip4/127.0.0.1/tcp/" + Text(busy));
            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Equal(string.Empty, run.Stdout);
            AssertOneLineNaming(run.Stderr, busy, "--listen");
        }
        finally
        {
            DeleteDirectory(home);
        }
    }

    private static void AssertOneLineNaming(string output, int port, string flag)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.Contains("port " + Text(port), line, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(flag, line, StringComparison.Ordinal);
        Assert.Contains("in use", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    private static Socket HoldLoopbackPort(bool reuseAddress)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (reuseAddress)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }

        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        return socket;
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.P2p;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>
/// The gateway's <c>/vivim/*</c> protocols (as its service provider builds them) mounted on a libp2p host of the test,
/// and a C# dialer speaking their framing.
/// </summary>
internal sealed class VivimProtocolTestKit : IAsyncDisposable
{
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    private VivimProtocolTestKit(Libp2pHost host) => Host = host;

    public Libp2pHost Host { get; }

    /// <summary>The host's address with its <c>/p2p/</c> suffix, as a dialer takes it.</summary>
    public string Address => $"{Host.ListenAddresses[0]}/p2p/{Host.PeerId}";

    public static async Task<VivimProtocolTestKit> StartAsync(IServiceProvider services, IEnumerable<IP2pProtocol>? protocols = null)
    {
        var builder = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0");
        foreach (var protocol in protocols ?? services.GetServices<IP2pProtocol>())
        {
            builder.WithStreamHandler(protocol.ProtocolId, protocol.HandleAsync);
        }

        var host = builder.Build();
        await host.StartAsync();
        return new VivimProtocolTestKit(host);
    }

    /// <summary>A dialer whose libp2p identity is <paramref name="key"/> (a clone's DID key), or a fresh one.</summary>
    public static async Task<Libp2pHost> DialerAsync(SigningKey? key = null)
    {
        var builder = new Libp2pHostBuilder();
        if (key is not null)
        {
            builder.WithIdentitySeed(key.ExportSeed());
        }

        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public Task<Answer> RequestAsync(Libp2pHost dialer, string protocol, JsonObject request, CancellationToken ct) =>
        SendAsync(dialer, protocol, Frame(Encoding.UTF8.GetBytes(request.ToJsonString())), ct);

    /// <summary>Writes <paramref name="bytes"/> as they are, half-closes, and reads one length-prefixed answer (or sees the reset).</summary>
    public async Task<Answer> SendAsync(Libp2pHost dialer, string protocol, byte[] bytes, CancellationToken ct)
    {
        var connection = await dialer.DialAsync(Address, ct);
        await using var stream = await connection.NewStreamAsync([protocol], ct);
        try
        {
            await stream.WriteAsync(bytes, ct);
            await stream.FlushAsync(ct);
            await stream.CloseWriteAsync();
            var answer = await Varint.ReadLengthPrefixedAsync(stream, MaxAnswerBytes, ct);
            return answer is null ? new Answer(null, Reset: true) : new Answer(ProtocolJson.ParseObject(answer, JsonLimits.Snapshot), Reset: false);
        }
        catch (Exception e) when (e is Libp2pException or IOException)
        {
            return new Answer(null, Reset: true);
        }
    }

    public static byte[] Frame(byte[] payload) => [.. Varint.Encode((ulong)payload.Length), .. payload];

    public ValueTask DisposeAsync() => Host.DisposeAsync();

    /// <summary>The answer's JSON, or <see cref="Reset"/> when the listener reset (or ended) the stream without one.</summary>
    public sealed record Answer(JsonObject? Json, bool Reset)
    {
        public JsonObject Body => Json ?? throw new InvalidOperationException("The stream was reset without an answer.");

        public string? ErrorCode => Json?["error"]?["code"]?.GetValue<string>();
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Vivim.ExitNodes;
using Vivim.Gateway.Hosting;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Security;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway;

/// <summary>
/// Nonces against an outside attacker, on the embedded node (real Kestrel, real SQLite file), restarted on the same data
/// directory: unproven registrations cost the node nothing it stores, and spent nonces (registrations', signed
/// requests') are refused again after the restart.
/// </summary>
public sealed class NonceReplayTests : IAsyncLifetime
{
    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "vivim-nonces-" + Guid.NewGuid().ToString("N")[..12]);
    private WebApplication? _app;
    private GatewayFixture _http = null!;

    private string Database => new SqliteConnectionStringBuilder { DataSource = Path.Combine(_dataPath, "vivim.db") }.ConnectionString;

    public Task InitializeAsync() => StartAsync();

    public async Task DisposeAsync()
    {
        await StopAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Unproven_registrations_store_nothing_and_spent_nonces_are_refused_after_a_restart()
    {
        var (_, apiKey) = await _http.CreateTenantAsync("nonces");
        var did = await _http.CreateExitNodeAsync(apiKey);
        var stateBefore = await StateBytesAsync(did);
        Assert.True(stateBefore > 0);

        // The attack: fresh clone DIDs, 256-character nonces, proofs that do not verify. A few over HTTP, the bulk
        // straight to the grain (past the gateway's per-DID bucket, which only slows it down).
        using var anonymous = _http.CreateClient();
        for (var i = 0; i < 20; i++)
        {
            using var response = await anonymous.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(ProtocolModel.ToJsonObject(Unproven())));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal(DenialReasons.InvalidIdentityProof, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["denialReason"]!.GetValue<string>());
        }

        var node = _app!.Services.GetRequiredService<IGrainFactory>().GetGrain<IExitNodeGrain>(did);
        using (_app.Services.GetRequiredService<CallPrincipals>().Enter(CallPrincipal.Public))
        {
            for (var i = 0; i < 1_000; i++)
            {
                Assert.Equal(DenialReasons.InvalidIdentityProof, (await node.RegisterAsync(Unproven())).DenialReason);
            }
        }

        Assert.Equal(stateBefore, await StateBytesAsync(did));
        Assert.Equal(0L, await NonceRowsAsync(did));

        // A valid registration spends its nonce in one row; its answer replayed is refused.
        using var clone = SigningKey.Generate();
        var nonce = ExitNodeTestKit.NewNonce();
        var request = ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(clone, nonce));
        using (var first = await anonymous.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(request)))
        {
            var challenge = JsonNode.Parse(await first.Content.ReadAsStringAsync())!["challenge"]!["challenge"]!.GetValue<string>();
            request["challengeResponse"] = challenge;
            request["identityProof"] = ExitNodeTestKit.IdentityProof(clone, challenge, nonce);
        }

        var (status, approved) = await RegisterAsync(anonymous, did, request);
        Assert.Equal(HttpStatusCode.OK, status);
        var cloneId = approved["cloneId"]!.GetValue<string>();
        Assert.Equal(DenialReasons.NonceAlreadyUsed, (await RegisterAsync(anonymous, did, request)).Body["denialReason"]!.GetValue<string>());
        Assert.Equal(1L, await NonceRowsAsync(did));
        Assert.True(await StateBytesAsync(did) > stateBefore); // the clone's record, not its nonce

        // A signed sync-ticket request, used once: the same bytes again are refused at once.
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var requestNonce = ExitNodeTestKit.NewNonce();
        HttpRequestMessage Ticket() => _http.Signed(clone, HttpMethod.Post, $"/v1/clones/{cloneId}/sync-ticket", created: created, nonce: requestNonce);
        var (ticketStatus, ticket) = await GatewayTestKit.SendAsync(anonymous, Ticket());
        Assert.Equal(HttpStatusCode.OK, ticketStatus);
        Assert.NotNull(ticket!["ticket"]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GatewayTestKit.SendAsync(anonymous, Ticket())).Status);

        // Restarted on the same data directory: both replays are still refused, and no ticket is minted.
        await StopAsync();
        await StartAsync();
        using var again = _http.CreateClient();
        Assert.Equal(DenialReasons.NonceAlreadyUsed, (await RegisterAsync(again, did, request)).Body["denialReason"]!.GetValue<string>());
        var (replayStatus, replay) = await GatewayTestKit.SendAsync(again, Ticket());
        Assert.Equal(HttpStatusCode.Unauthorized, replayStatus);
        Assert.Equal("unauthorized", replay!["code"]!.GetValue<string>());
        Assert.Null(replay["ticket"]);

        // A fresh signature from the same clone still gets its ticket.
        Assert.Equal(HttpStatusCode.OK, (await GatewayTestKit.SendAsync(again, _http.Signed(clone, HttpMethod.Post, $"/v1/clones/{cloneId}/sync-ticket"))).Status);

        // Deleting the exit node deletes its nonces, the clones' included.
        using (var owner = _http.CreateClient(apiKey))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync(new Uri($"/v1/exit-nodes/{did}", UriKind.Relative))).StatusCode);
        }

        Assert.Equal(0L, await NonceRowsAsync(did));
    }

    private static CloneRegistrationRequest Unproven()
    {
        using var key = SigningKey.Generate();
        return ExitNodeTestKit.Request(key, new string('x', 224) + Guid.NewGuid().ToString("N")) with
        {
            ChallengeResponse = Guid.NewGuid().ToString(),
            IdentityProof = new string('0', 128),
        };
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> RegisterAsync(HttpClient http, string did, JsonObject request)
    {
        using var response = await http.PostAsync($"/v1/exit-nodes/{did}/register", GatewayFixture.Json(request));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    /// <summary>The bytes the exit node's state record holds: what each of its state writes costs.</summary>
    private async Task<long> StateBytesAsync(string did) =>
        (long)(await ScalarAsync("SELECT length(payload) FROM vivim_grain_state WHERE state_name = 'exitNode' AND grain_id_extension = $did", did) ?? 0L);

    private async Task<long> NonceRowsAsync(string did) =>
        (long)(await ScalarAsync("SELECT count(*) FROM vivim_spent_nonces WHERE exit_node_did = $did", did))!;

    private async Task<object?> ScalarAsync(string sql, string did)
    {
        await using var connection = new SqliteConnection(Database);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$did", did);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    private async Task StartAsync()
    {
        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        _app = GatewayApp.Create([.. GatewayFixture.Arguments(baseAddress, _dataPath, $"nonces-{port}"), "--Vivim:P2p:Enabled=false"]);
        await _app.StartAsync();
        _http = GatewayFixture.At(baseAddress);
    }

    private async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }
}

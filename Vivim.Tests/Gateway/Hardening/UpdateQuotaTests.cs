using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Vivim.Gateway.Limits;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>A tenant's updates-per-second quota counts every update a batch carries.</summary>
[Collection(GatewayCollection.Name)]
public sealed class UpdateQuotaTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_large_batch_is_charged_in_full_and_the_next_write_waits_for_the_debt()
    {
        var (_, apiKey) = await gateway.CreateTenantAsync(quotas: new JsonObject { ["updatesPerSecond"] = 10 });
        var did = await gateway.CreateExitNodeAsync(apiKey);
        using var owner = gateway.CreateClient(apiKey);

        using (var batch = await owner.PostAsync($"/v1/exit-nodes/{did}/updates", Batch(200)))
        {
            Assert.True(batch.IsSuccessStatusCode, await batch.Content.ReadAsStringAsync());
        }

        // 200 updates at 10/s: about 19 s of debt. One more update is refused, with a wait that says so.
        using var next = await owner.PostAsync($"/v1/exit-nodes/{did}/updates", Batch(1));
        Assert.Equal(HttpStatusCode.TooManyRequests, next.StatusCode);
        Assert.Equal("rate-limited", JsonNode.Parse(await next.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        var retryAfter = int.Parse(next.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 15, 20);
        Assert.Equal(200, JsonNode.Parse(await owner.GetStringAsync($"/v1/exit-nodes/{did}"))!["headSeq"]!.GetValue<long>());
    }

    [Fact]
    public void Over_any_span_a_tenant_commits_at_most_its_rate_plus_one_second()
    {
        var clock = new FakeTimeProvider();
        var budgets = new UpdateBudgets(clock);
        var committed = 0;
        var random = new Random(7);
        for (var tick = 0; tick < 10_000; tick++)
        {
            var batch = random.Next(1, 1001);
            try
            {
                budgets.Charge("t", batch, 10);
                committed += batch;
            }
            catch (RateLimitedException limited)
            {
                Assert.True(limited.RetryAfter > TimeSpan.Zero);
            }

            clock.Advance(TimeSpan.FromMilliseconds(10)); // 100 s in all
        }

        // The first batch may take a whole second's budget into debt up to the anchor's cap.
        Assert.InRange(committed, 10 * 90, (10 * 100) + 1000);

        // A batch within the rate is let through as soon as the budget covers it, not later.
        var fresh = new UpdateBudgets(clock);
        fresh.Charge("u", 10, 10);
        var refused = Assert.Throws<RateLimitedException>(() => fresh.Charge("u", 5, 10));
        Assert.Equal(TimeSpan.FromSeconds(0.5), refused.RetryAfter);
        clock.Advance(TimeSpan.FromSeconds(0.5));
        fresh.Charge("u", 5, 10);
    }

    private static StringContent Batch(int count) => GatewayFixture.Json(new JsonObject
    {
        ["updates"] = new JsonArray([.. Enumerable.Range(0, count).Select(_ => (JsonNode)new JsonObject
        {
            ["type"] = "memory",
            ["operation"] = "create",
            ["path"] = $"memoryIndex/{Guid.NewGuid():N}",
            ["data"] = 1,
        })]),
    });
}

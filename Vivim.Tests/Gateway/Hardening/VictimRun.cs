using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.Hardening;

/// <summary>
/// A well-behaved tenant during a flood test: one document read and one owner write per round, timed, paced well within
/// its quota so its own bucket never refuses it. Failures are kept for the test to report, not thrown mid-flood.
/// </summary>
internal sealed class VictimRun(string did, int documents)
{
    /// <summary>Twice the requests of a round per period: 100 requests/s, half the default tenant quota of 200.</summary>
    private static readonly TimeSpan RoundPeriod = TimeSpan.FromMilliseconds(20);

    private int _paths;

    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Owner writes answered 200, each one update: the head moves by exactly this many.</summary>
    public int WritesAcknowledged { get; private set; }

    /// <summary>Up to <paramref name="rounds"/> rounds, or until <paramref name="stop"/>; a round under way completes.</summary>
    public async Task<VictimLatency> MeasureAsync(HttpClient victim, int rounds, CancellationToken stop)
    {
        var reads = new List<double>();
        var writes = new List<double>();
        var pace = Stopwatch.StartNew();
        for (var round = 0; round < rounds && !stop.IsCancellationRequested; round++)
        {
            var wait = (RoundPeriod * round) - pace.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, CancellationToken.None);
            }

            var clock = Stopwatch.StartNew();
            using (var read = await victim.GetAsync($"/v1/exit-nodes/{did}/documents/memoryIndex/doc{round % documents}", CancellationToken.None))
            {
                var text = await read.Content.ReadAsStringAsync(CancellationToken.None);
                reads.Add(clock.Elapsed.TotalMilliseconds);
                if (!read.IsSuccessStatusCode)
                {
                    Failures.Enqueue($"read: {(int)read.StatusCode} {text}");
                }
            }

            var body = new JsonObject
            {
                ["updates"] = new JsonArray(new JsonObject
                {
                    ["type"] = "memory",
                    ["operation"] = "create",
                    ["path"] = $"memoryIndex/w{_paths++}",
                    ["data"] = new JsonObject { ["round"] = round },
                }),
            };
            clock.Restart();
            using (var write = await victim.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(body), CancellationToken.None))
            {
                var text = await write.Content.ReadAsStringAsync(CancellationToken.None);
                writes.Add(clock.Elapsed.TotalMilliseconds);
                if (write.IsSuccessStatusCode)
                {
                    WritesAcknowledged++;
                }
                else
                {
                    Failures.Enqueue($"write: {(int)write.StatusCode} {text}");
                }
            }
        }

        return new VictimLatency(reads, writes);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.TenantConsole;

/// <summary>
/// The tenant console in a real browser (Debian's headless Chromium, driven by <c>interop/console/walk.mjs</c>)
/// against a real gateway process: the walk signs in, creates an exit node, and asks this test for what only a clone
/// or an owner can do (register and sync with <see cref="RemoteClone"/>, write 200 updates, see the session close);
/// it proves verification in the browser by a proxy that tampers with commits. Screenshots go to .ci/out/console.
/// </summary>
public sealed class ConsoleBrowserTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan WalkPatience = TimeSpan.FromMinutes(6);
    private static readonly SyncOptions LiveOnly = new() { VerifyAuthorSignatures = true, ReconcileInterval = TimeSpan.FromHours(1) };

    private readonly string _data = Path.Combine(Path.GetTempPath(), "vivim-console-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Uri _address = new("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));
    private HostProcess? _gateway;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_data);
        _gateway = HostProcess.Start("Vivim.Gateway", GatewayFixture.Arguments(_address, Path.Combine(_data, "node"), "console-" + Guid.NewGuid().ToString("N")[..8]), name: "gateway (console)");
        await _gateway.WaitStartedAsync(TimeSpan.FromSeconds(120));
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_tenant_walks_the_console_in_a_browser_that_verifies_what_it_shows()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (the CI script does).");
        var api = GatewayFixture.At(_address);
        var (_, apiKey) = await api.CreateTenantAsync("console", new JsonObject { ["updatesPerSecond"] = 2000 });
        using var http = api.CreateClient();
        var tenant = new TenantClient(_address, apiKey, http);
        var shots = Repository.PathOf(".ci", "out", "console");

        RemoteClone? clone = null;
        var revoked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var walk = Walk.Start(Repository.PathOf("interop", "console"), [_address.ToString().TrimEnd('/'), apiKey, shots]);
        try
        {
            JsonObject? verdict = null;
            while (verdict is null)
            {
                var line = await walk.NextLineAsync(WalkPatience);
                var message = JsonNode.Parse(line)!.AsObject();
                if (message["need"] is not JsonObject need)
                {
                    verdict = message;
                }
                else if (need["clone"] is JsonValue did)
                {
                    // A registration without its challenge's answer is denied with the SDK's reason; then a clone
                    // registers through Vivim.Client and syncs live.
                    using (var refused = await http.PostAsync(
                        $"/v1/exit-nodes/{did.GetValue<string>()}/register",
                        GatewayFixture.Json(ProtocolModel.ToJsonObject(ExitNodeTestKit.Request(SigningKey.Generate(), ExitNodeTestKit.NewNonce())))))
                    {
                        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
                    }

                    var key = SigningKey.Generate();
                    (clone, _) = await RemoteClone.RegisterAsync(_address, did.GetValue<string>(), key, Path.Combine(_data, "clones"),
                        config: new SyncConfig(SyncInterval: 3_600_000), syncOptions: LiveOnly);
                    clone.Sync.Error += (_, e) =>
                    {
                        if (e.Error is CloneRevokedException)
                        {
                            revoked.TrySetResult();
                        }
                    };
                    await clone.StartAsync();
                    await Until.TrueAsync(() => clone.Transport.IsLiveConnected, () => "the clone's live session did not open");
                    walk.Answer(new JsonObject { ["cloneId"] = clone.CloneId });
                }
                else if (need["writes"] is JsonValue target)
                {
                    var head = 0L;
                    for (var batch = 0; batch < 10; batch++)
                    {
                        var updates = Enumerable.Range(0, 20).Select(i => new OwnerUpdate(
                            UpdateType.Memory, UpdateOperation.Create, $"memoryIndex/notes/{batch}-{i}", new RawJson($$"""{"text":"note {{batch}}-{{i}}"}"""))).ToList();
                        var result = await tenant.WriteAsync(target.GetValue<string>(), updates);
                        Assert.Equal(SubmitOutcome.Committed, result.Outcome);
                        head = result.Receipts[^1].Seq;
                    }

                    await Until.TrueAsync(() => clone!.Sync.Replica.Cursor >= head, () => $"the clone did not reach {head}", TimeSpan.FromMinutes(2));
                    walk.Answer(new JsonObject { ["head"] = head });
                }
                else if (need["suspended"] is not null)
                {
                    await revoked.Task.WaitAsync(TimeSpan.FromMinutes(2));
                    await Until.TrueAsync(() => !clone!.Transport.IsLiveConnected, () => "the clone's session is still open");
                    walk.Answer(new JsonObject { ["closed"] = true });
                }
                else
                {
                    Assert.Fail("The walk asked for something unknown: " + line);
                }
            }

            var report = $"{verdict.ToJsonString()}\n{walk.Errors}";
            Assert.True(verdict["ok"]!.GetValue<bool>(), report);
            Assert.Equal(
                ["signed-in", "exit-node-created", "clone-connected", "commits-settled", "document-proof-verified", "registration-events", "tampering-detected", "clone-suspended"],
                verdict["steps"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()));
            Assert.Contains("verification failed", verdict["steps"]![6]!["failure"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Empty(verdict["consoleErrors"]!.AsArray());
            Assert.Empty(verdict["failedRequests"]!.AsArray());
            foreach (var page in new[] { "sign-in", "exit-nodes", "clones", "exit-node", "document", "events", "exit-node-tampered", "clones-suspended" })
            {
                foreach (var width in new[] { 1280, 360 })
                {
                    var file = Path.Combine(shots, $"{page}-{width}.png");
                    Assert.True(new FileInfo(file).Length > 1000, $"{file} is missing or empty");
                }
            }
        }
        finally
        {
            if (clone is not null)
            {
                await clone.DisposeAsync();
            }
        }
    }

    /// <summary>The node walk: JSON lines out, answers in.</summary>
    private sealed class Walk : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _errors = new();

        private Walk(Process process)
        {
            _process = process;
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_errors)
                {
                    _errors.AppendLine(e.Data);
                }
            };
            _process.BeginErrorReadLine();
        }

        public string Errors
        {
            get
            {
                lock (_errors)
                {
                    return _errors.ToString();
                }
            }
        }

        public static Walk Start(string packageDir, IEnumerable<string> args)
        {
            Assert.True(Directory.Exists(Path.Combine(packageDir, "node_modules")), "JavaScript dependencies are missing: run `npm ci --prefix interop/console` (the CI script does).");
            var start = new ProcessStartInfo("node")
            {
                WorkingDirectory = packageDir,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("walk.mjs");
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            return new Walk(Process.Start(start) ?? throw new InvalidOperationException("node did not start"));
        }

        public async Task<string> NextLineAsync(TimeSpan patience)
        {
            using var timeout = new CancellationTokenSource(patience);
            try
            {
                return await _process.StandardOutput.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("The walk ended without a verdict:\n" + Errors);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The walk said nothing for {patience}:\n{Errors}");
            }
        }

        public void Answer(JsonObject answer)
        {
            _process.StandardInput.WriteLine(answer.ToJsonString());
            _process.StandardInput.Flush();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}

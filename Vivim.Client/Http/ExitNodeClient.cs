using System.Net;
using System.Text.Json.Nodes;
using Vivim.Client.Registration;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

/// <summary>
/// The public side of an exit node on a gateway: its advertisement (verified), a registration challenge, and the
/// SDK's registration — unsigned calls, since the clone is not known yet.
/// </summary>
public sealed class ExitNodeClient : IExitNodeChannel, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _gateway;
    private readonly bool _ownsClient;
    private readonly TimeProvider _time;

    public ExitNodeClient(Uri gateway, HttpClient? http = null, TimeProvider? timeProvider = null)
    {
        _gateway = GatewayAddress.Normalize(gateway);
        _ownsClient = http is null;
        _http = http ?? new HttpClient();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Fetches and verifies the advertisement of <paramref name="did"/>.</summary>
    /// <exception cref="AdvertisementVerificationException">It does not verify.</exception>
    public async Task<ExitNodeAdvertisement> GetAdvertisementAsync(string did, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(Target(did, "advertisement"), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var json = await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        return AdvertisementVerifier.Verify(json, did);
    }

    /// <summary>
    /// The advertisement once a gateway serves <paramref name="did"/> on libp2p (it names that gateway's peer): a new exit
    /// node is announced on the DHT within moments, and a clone looking it up before then finds no provider.
    /// </summary>
    /// <exception cref="TimeoutException">No gateway took it on within <paramref name="timeout"/>.</exception>
    public async Task<ExitNodeAdvertisement> WaitServedOnLibp2pAsync(string did, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            var advertisement = await GetAdvertisementAsync(did, cancellationToken).ConfigureAwait(false);
            if (advertisement.PeerId.Length > 0)
            {
                return advertisement;
            }

            if (_time.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"No gateway served {did} on libp2p within {timeout.TotalSeconds:0} s (is Vivim:P2p enabled on a gateway?).");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks for a challenge for <paramref name="cloneDid"/> under <paramref name="nonce"/> (the explicit endpoint).</summary>
    public async Task<RegistrationChallenge> RequestChallengeAsync(string did, string cloneDid, string nonce, CancellationToken cancellationToken = default)
    {
        using var content = GatewayHttp.JsonContent(new JsonObject { ["did"] = cloneDid, ["nonce"] = nonce });
        using var response = await _http.PostAsync(Target(did, "challenge"), content, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var json = await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        return GatewayHttp.Model<RegistrationChallenge>(json, response.StatusCode);
    }

    /// <summary>Sends a registration request as it is; the SDK's answer comes back whether approved (200), denied (403) or rate limited (429).</summary>
    public async Task<CloneRegistrationResponse> RegisterAsync(string did, CloneRegistrationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var content = GatewayHttp.JsonContent(ProtocolModel.ToJsonObject(request));
        using var response = await _http.PostAsync(Target(did, "register"), content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests))
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var json = await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxSnapshotBytes, cancellationToken).ConfigureAwait(false);
        if (json["approved"] is null)
        {
            // Not the SDK's shape (a problem from in front of the exit node, e.g. the gateway's own rate limiter).
            throw new GatewayException(response.StatusCode, GatewayHttp.Text(json, "code") ?? "registration-refused", GatewayHttp.Text(json, "detail") ?? GatewayHttp.Text(json, "title") ?? "The registration was refused.")
            {
                RetryAfter = GatewayHttp.RetryAfter(response),
            };
        }

        return GatewayHttp.Model<CloneRegistrationResponse>(json, response.StatusCode);
    }

    /// <summary>
    /// The SDK's whole flow: discover and verify the advertisement, get a challenge, prove the clone's identity
    /// (v1 signature of <c>{challenge, nonce}</c>), register, and check the trust proof and the initial snapshot
    /// (v1 and v2 signatures, v1 and v2 roots) under the exit node's key.
    /// </summary>
    /// <exception cref="CloneRegistrationException">The exit node denied the registration.</exception>
    public Task<CloneRegistrationResult> RegisterCloneAsync(string did, SigningKey cloneKey, IReadOnlyList<string>? desiredCapabilities = null, MigrationType? migrationType = null, CancellationToken cancellationToken = default) =>
        CloneRegistrationFlow.RunAsync(this, did, cloneKey, desiredCapabilities, migrationType, _time, cancellationToken);

    public void Dispose()
    {
        if (_ownsClient)
        {
            _http.Dispose();
        }
    }

    private Uri Target(string did, string endpoint)
    {
        DidKey.Parse(did); // a did:key has no character that needs escaping in a path
        return new Uri(_gateway, $"/v1/exit-nodes/{did}/{endpoint}");
    }
}

/// <summary>The exit node denied a registration; <see cref="Reason"/> is the SDK's denial string.</summary>
public sealed class CloneRegistrationException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}

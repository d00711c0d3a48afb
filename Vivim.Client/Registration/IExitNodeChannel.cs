using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Model;

namespace Vivim.Client.Registration;

/// <summary>
/// What an exit node answers before a clone is known, over HTTP (<see cref="Http.ExitNodeClient"/>) or libp2p
/// (<see cref="P2p.P2pExitNode"/>): its verified advertisement, a challenge, and the SDK's registration.
/// </summary>
public interface IExitNodeChannel
{
    /// <exception cref="Http.AdvertisementVerificationException">It does not verify.</exception>
    Task<ExitNodeAdvertisement> GetAdvertisementAsync(string did, CancellationToken cancellationToken = default);

    Task<RegistrationChallenge> RequestChallengeAsync(string did, string cloneDid, string nonce, CancellationToken cancellationToken = default);

    /// <summary>Sends a registration request as it is; the SDK's answer comes back whether approved or denied.</summary>
    Task<CloneRegistrationResponse> RegisterAsync(string did, CloneRegistrationRequest request, CancellationToken cancellationToken = default);
}

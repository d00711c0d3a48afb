using Vivim.Protocol.Model;

namespace Vivim.ExitNodes;

/// <summary>What <see cref="CloneRegistrationFlow.Decide"/> concluded: approve with a migration type, or deny with the SDK's reason.</summary>
/// <param name="DenialReason">Null when approved.</param>
/// <param name="SpendsNonce">The registration concluded, so its nonce is spent (an approval spends it once the clone is recorded).</param>
/// <param name="Challenge">For <see cref="DenialReasons.ChallengeRequired"/>: the challenge to answer.</param>
internal sealed record RegistrationDecision(string? DenialReason, bool SpendsNonce, MigrationType Migration, RegistrationChallenge? Challenge = null)
{
    public bool Approved => DenialReason is null;

    public static RegistrationDecision Approve(MigrationType migration) => new(null, SpendsNonce: true, migration);

    /// <summary>Refused before the registration concluded: the nonce may still be used.</summary>
    public static RegistrationDecision Deny(string reason) => new(reason, SpendsNonce: false, MigrationType.Mirror);

    /// <summary>Refused once concluded: the nonce is spent.</summary>
    public static RegistrationDecision Conclude(string reason) => new(reason, SpendsNonce: true, MigrationType.Mirror);
}

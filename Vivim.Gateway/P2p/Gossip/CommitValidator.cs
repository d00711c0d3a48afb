using System.Collections.Concurrent;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Telemetry;

namespace Vivim.Gateway.P2p.Gossip;

/// <summary>
/// Checks every message on a <c>/vivim/sync/*</c> topic before GossipSub delivers or forwards it: the data is a
/// <see cref="Commit"/> of the topic's DID whose v2 proof verifies by that DID, the DID is a hosted exit node, and its
/// <c>toSeq</c> is not below the highest this gateway saw on the topic (the latest again is allowed: it is re-published
/// when nothing was committed). Anything else is rejected, which also counts against the peer that sent it.
/// </summary>
public sealed class CommitValidator(KnownExitNodes exitNodes, ILogger<CommitValidator> logger)
{
    private readonly ConcurrentDictionary<string, long> _highest = new(StringComparer.Ordinal);
    private long _accepted;
    private long _rejected;
    private long _ignored;

    /// <summary>Messages accepted so far (from other peers; our own are not validated).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Messages rejected so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Messages dropped without blame so far (an exit node still being looked up, a genuine but older commit).</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>The highest <c>toSeq</c> seen or published on a DID's topic, or null.</summary>
    public long? HighestSeen(string did) => _highest.TryGetValue(did, out var seq) ? seq : null;

    /// <summary>The GossipSub validator (runs on the receiving thread: parsing and one signature check, no I/O).</summary>
    public ValidationResult Validate(GossipMessage message)
    {
        var result = Check(message, out var reason);
        if (result == ValidationResult.Reject)
        {
            Interlocked.Increment(ref _rejected);
            VivimMetrics.Gossip("in", "rejected");
            logger.LogDebug("Rejected a message on {Topic} from {Peer}: {Reason}", message.Topic, message.ReceivedFrom, reason);
        }
        else if (result == ValidationResult.Accept)
        {
            Interlocked.Increment(ref _accepted);
            VivimMetrics.Gossip("in", "accepted");
        }
        else
        {
            Interlocked.Increment(ref _ignored);
            VivimMetrics.Gossip("in", "ignored");
        }

        return result;
    }

    /// <summary>What this gateway published itself raises the bar for others on the topic.</summary>
    public void NotePublished(string did, long toSeq) => Raise(did, toSeq);

    /// <summary>Forgets a topic's highest seq (this gateway left it; the DID may even be deleted and created again).</summary>
    public void Forget(string did) => _highest.TryRemove(did, out _);

    private ValidationResult Check(GossipMessage message, out string reason)
    {
        if (!CommitTopics.TryGetDid(message.Topic, out var did) || !DidKey.TryParse(did, out var key))
        {
            reason = "the topic names no DID";
            return ValidationResult.Reject;
        }

        Commit commit;
        System.Text.Json.Nodes.JsonObject json;
        try
        {
            json = ProtocolJson.ParseObject(message.Data, JsonLimits.Default);
            commit = ProtocolModel.FromJsonObject<Commit>(json);
        }
        catch (Exception e) when (e is ProtocolException or ArgumentException or FormatException)
        {
            reason = "not a commit: " + e.Message;
            return ValidationResult.Reject;
        }

        var count = commit.ToSeq - commit.FromSeq + 1;
        if (!string.Equals(commit.Did, did, StringComparison.Ordinal) || commit.FromSeq < 1 || count < 1
            || commit.Roots.Count != count || commit.UpdateHashes.Count != count
            || !string.Equals(commit.Root, commit.Roots[^1], StringComparison.Ordinal))
        {
            reason = "a malformed commit or another DID's";
            return ValidationResult.Reject;
        }

        try
        {
            if (!SignatureV2.Verify(SignedKind.Commit, json, key.PublicKey))
            {
                reason = "the proof does not verify by the topic's DID";
                return ValidationResult.Reject;
            }
        }
        catch (Exception e) when (e is ProtocolException or ArgumentException or FormatException)
        {
            reason = "a malformed proof: " + e.Message;
            return ValidationResult.Reject;
        }

        switch (exitNodes.IsKnown(did))
        {
            case false:
                reason = "not a hosted exit node";
                return ValidationResult.Reject;
            case null:
                // Being looked up: dropped without blame; the publisher re-sends the latest commit anyway.
                reason = "exit node not known yet";
                return ValidationResult.Ignore;
        }

        if (!Raise(did, commit.ToSeq))
        {
            // Not forwarded, but no blame: an older commit the anchor did sign is what a relay clone re-publishing behind
            // the gateway, or a late forwarder, sends; penalizing it would cut the relay off the topic's mesh.
            reason = $"toSeq {commit.ToSeq} is below the highest seen";
            return ValidationResult.Ignore;
        }

        reason = string.Empty;
        return ValidationResult.Accept;
    }

    /// <summary>Raises the topic's highest seq to <paramref name="toSeq"/>; false when it is already above it.</summary>
    private bool Raise(string did, long toSeq)
    {
        while (true)
        {
            if (!_highest.TryGetValue(did, out var current))
            {
                if (_highest.TryAdd(did, toSeq))
                {
                    return true;
                }

                continue;
            }

            if (toSeq < current)
            {
                return false;
            }

            if (toSeq == current || _highest.TryUpdate(did, toSeq, current))
            {
                return true;
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Vivim.Client.Http;
using Vivim.Libp2p.Core;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Client.P2p.Relay;

/// <summary>
/// Whom a relay clone serves: a peer that presents a TrustProof its parent issued for that peer's key (readable trust),
/// and that the parent, when last asked, still held as a clone that is not suspended. The parent's answer is kept for
/// <see cref="CloneRelayOptions.PeerTrustTtl"/>; when the parent cannot be asked, the last answer stands.
/// </summary>
public sealed class RelayAdmission
{
    private readonly string _parentDid;
    private readonly byte[] _parentKey;
    private readonly Func<string, CancellationToken, Task<RelayPeer?>> _askParent;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (RelayPeer? Peer, DateTimeOffset LearnedAt)> _learned = new(StringComparer.Ordinal);

    // The proof each peer presented last, as text, once it checked out: a peer sends the same one with every request,
    // and two signature checks per pull and per ack would be the relay's main cost.
    private readonly ConcurrentDictionary<string, string> _checkedProofs = new(StringComparer.Ordinal);
    private const int MaxCheckedProofs = 10_000;

    public RelayAdmission(string parentDid, Func<string, CancellationToken, Task<RelayPeer?>> askParent, TimeSpan ttl, TimeProvider? timeProvider = null)
    {
        _parentDid = parentDid;
        _parentKey = DidKey.Parse(parentDid).PublicKey.ToArray();
        _askParent = askParent;
        _ttl = ttl;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Admits <paramref name="remote"/> or throws the refusal a peer is answered with.</summary>
    /// <returns>The peer's DID.</returns>
    /// <exception cref="GatewayException"><c>unauthorized</c> (no valid TrustProof for this key) or <c>forbidden</c> (the parent no longer vouches for it).</exception>
    public async Task<string> AdmitAsync(PeerId remote, JsonNode? trustProof, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (remote.TryGetPublicKey() is not { Type: KeyType.Ed25519 } key)
        {
            throw Refused("unauthorized", "A clone dials with its DID key as its libp2p identity; this peer has no Ed25519 key.");
        }

        var peerDid = DidKey.FromPublicKey(key.Data).Value;
        if (trustProof is not JsonObject proof)
        {
            throw Refused("unauthorized", "A relay serves only clones of its parent: send the TrustProof the parent issued to you as \"trustProof\".");
        }

        var proofText = JavaScriptJson.Stringify(proof);
        if (!_checkedProofs.TryGetValue(peerDid, out var checkedText) || !string.Equals(checkedText, proofText, StringComparison.Ordinal))
        {
            CheckProof(proof, peerDid);
            if (_checkedProofs.Count >= MaxCheckedProofs)
            {
                _checkedProofs.Clear();
            }

            _checkedProofs[peerDid] = proofText;
        }

        var learned = await LearnAsync(peerDid, cancellationToken).ConfigureAwait(false);
        if (learned is { Known: true, Peer: null })
        {
            throw Refused("forbidden", $"{peerDid} is no clone of {_parentDid} (never registered, or removed).");
        }

        if (learned.Peer is { } peer && !Readable(peer.TrustLevel, peer.Permissions))
        {
            throw Refused("forbidden", $"The parent holds {peerDid} at trust {peer.TrustLevel.ToString().ToLowerInvariant()}: it may not read.");
        }

        return peerDid;
    }

    private void CheckProof(JsonObject json, string peerDid)
    {
        TrustProof proof;
        try
        {
            proof = ProtocolModel.FromJsonObject<TrustProof>((JsonObject)json.DeepClone());
            if (!SignatureV1.Verify(SignedKind.TrustProof, json, _parentKey) || !SignatureV2.Verify(SignedKind.TrustProof, json, _parentKey))
            {
                throw Refused("unauthorized", $"The TrustProof is not signed by {_parentDid}.");
            }
        }
        catch (ProtocolException e)
        {
            throw Refused("unauthorized", $"The TrustProof is malformed: {e.Message}");
        }

        if (!string.Equals(proof.Issuer, _parentDid, StringComparison.Ordinal) || !string.Equals(proof.Target, peerDid, StringComparison.Ordinal))
        {
            throw Refused("unauthorized", $"The TrustProof is the parent's word about {proof.Target}, not about this peer ({peerDid}).");
        }

        if (!Readable(proof.Payload.TrustLevel, proof.Payload.Permissions))
        {
            throw Refused("forbidden", "The TrustProof grants no read access.");
        }
    }

    /// <summary>The parent's current word on <paramref name="peerDid"/>; Known is false when it was never reachable.</summary>
    private async Task<(bool Known, RelayPeer? Peer)> LearnAsync(string peerDid, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_learned.TryGetValue(peerDid, out var cached) && now - cached.LearnedAt < _ttl)
        {
            return (true, cached.Peer);
        }

        try
        {
            var peer = await _askParent(peerDid, cancellationToken).ConfigureAwait(false);
            _learned[peerDid] = (peer, now);
            return (true, peer);
        }
        catch (Exception e) when (e is GatewayException or IOException or Libp2pException or ExitNodeNotFoundException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The parent is out of reach: what it said last stands.
            return _learned.TryGetValue(peerDid, out var last) ? (true, last.Peer) : (false, null);
        }
    }

    private static bool Readable(TrustLevel? level, IReadOnlyList<string>? permissions) =>
        level is not (TrustLevel.Suspended or TrustLevel.Unverified) && (permissions is null || permissions.Contains(Permissions.Read));

    private static GatewayException Refused(string code, string message) => new(VivimStreamClient.StatusOf(code), code, message);
}

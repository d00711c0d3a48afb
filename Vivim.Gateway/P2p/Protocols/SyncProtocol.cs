using System.Text.Json.Nodes;
using Vivim.Clones;
using Vivim.Gateway.Api;
using Vivim.Gateway.Auth;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Sync;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary>
/// <c>/vivim/sync/1.0.0</c>: a registered clone's snapshot, updates, submit, ack and status, as the HTTP routes answer
/// them. The caller is the connection's Noise-authenticated remote peer: its Ed25519 key must be the clone's DID key,
/// and the clone's trust must allow the call (checked by the Clone grain on every request, so a suspension holds at once;
/// a stream still being answered when the clone loses access is reset, <see cref="OpenSyncStreams"/>). A relay clone
/// also asks here about the peers that pull from it (<c>peer</c>).
/// </summary>
public sealed class SyncProtocol(VivimProtocolContext context, OpenSyncStreams open, ILogger<SyncProtocol> logger) : VivimStreamProtocol(context, logger)
{
    public const string Id = "/vivim/sync/1.0.0";

    public override string ProtocolId => Id;

    protected override async Task<byte[]> AnswerAsync(JsonObject request, Libp2pStream stream, CancellationToken cancellationToken)
    {
        var type = RequestType(request, "snapshot", "updates", "submit", "ack", "status", "peer");
        // The HTTP edge's bounds (length, printable ASCII) before the id names a grain or reaches a log line.
        var cloneId = RequestBounds.Id(ApiJson.String(request, "cloneId", RequestBounds.MaxIdChars, required: true), "cloneId");
        var body = Body(request, "type", "cloneId");
        var parentDid = await AuthenticateAsync(stream.RemotePeer, cloneId);

        // Listening before the call: a suspension before it is refused by the Clone grain, one after it resets the stream.
        await open.OpenAsync(parentDid, cloneId, stream, Context.Options.Value.MaxSyncStreamsPerClone);
        using (Context.Principals.Enter(CallPrincipal.ForClone(cloneId)))
        {
            switch (type)
            {
                case "snapshot":
                    ApiJson.OnlyMembers(body);
                    return Protocol(await CloneSyncCalls.SnapshotAsync(Context.Grains, cloneId));
                case "updates":
                    ApiJson.OnlyMembers(body, "after", "limit");
                    return await CloneSyncCalls.UpdatesAsync(Context.Grains, cloneId, ApiJson.Long(body, "after", required: false), ApiJson.Long(body, "limit", required: false)); // the log's text as it is
                case "submit":
                    var result = await CloneSyncCalls.SubmitAsync(Context.Grains, cloneId, body, Context.Anchor.Value.MaxBatchUpdates);
                    return result.Outcome == SubmitOutcome.Committed ? Object(WireJson.Receipts(result.Receipts)) : Error(ApiError.Rejected(result));
                case "ack":
                    await CloneSyncCalls.AcknowledgeAsync(Context.Grains, cloneId, body);
                    return "{}"u8.ToArray();
                case "peer":
                    ApiJson.OnlyMembers(body, "did");
                    var peerDid = RequestBounds.Did(ApiJson.String(body, "did", DidKey.MaxLength, required: true));
                    return await Context.Grains.GetGrain<ICloneGrain>(cloneId).GetPeerTrustAsync(peerDid) is { } trust
                        ? Object(WireJson.PeerTrust(trust))
                        : throw new ApiException(StatusCodes.Status404NotFound, "not-found", $"{peerDid} is no clone of this parent.");
                default:
                    ApiJson.OnlyMembers(body);
                    return Object(await CloneSyncCalls.StatusAsync(Context.Grains, cloneId));
            }
        }
    }

    protected override void OnAnswered(Libp2pStream stream) => open.Close(stream);

    /// <summary>The remote peer's key must be the clone's DID key and the clone must be allowed to act; returns its parent DID.</summary>
    private async Task<string> AuthenticateAsync(PeerId remote, string cloneId)
    {
        if (remote.TryGetPublicKey() is not { Type: KeyType.Ed25519 } key)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "unauthorized", "The remote peer has no Ed25519 key; a clone dials with its DID key as its libp2p identity.");
        }

        RequestAuthentication outcome;
        using (Context.Principals.Enter(CallPrincipal.Service))
        {
            outcome = await Context.Grains.GetGrain<ICloneGrain>(cloneId).AuthenticatePeerAsync(DidKey.FromPublicKey(key.Data).Value);
        }

        ApiAuthentication.Require(outcome);
        return outcome.ParentDid;
    }
}

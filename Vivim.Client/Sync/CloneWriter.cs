using System.Text.Json.Nodes;
using Vivim.Client.Transports;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Sync;

/// <summary>
/// Writes from a clone: builds StateUpdates in the SDK's shape, signs them with the clone's key (v1 for SDK peers,
/// v2 which the anchor requires) and submits them as one atomic batch.
/// </summary>
public sealed class CloneWriter
{
    private readonly ISyncTransport _transport;
    private readonly SigningKey _key;
    private readonly TimeProvider _time;

    public CloneWriter(ISyncTransport transport, SigningKey key, string cloneId, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(cloneId);
        _transport = transport;
        _key = key;
        CloneId = cloneId;
        _time = timeProvider ?? TimeProvider.System;
    }

    public string CloneId { get; }

    /// <summary>Builds and signs one update; returns its JSON text exactly as signed.</summary>
    public string Sign(UpdateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (StateRules.PathProblem(request.Path, request.Type) is { } problem)
        {
            throw new ArgumentException(problem, nameof(request));
        }

        var update = new StateUpdate(
            Guid.NewGuid().ToString(),
            request.Type,
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            _key.Did.Value,
            CloneId,
            request.Operation,
            request.Path,
            request.Operation == UpdateOperation.Delete && request.Data.Text is null ? RawJson.Null : request.Data,
            string.Empty,
            string.Empty,
            BaseSeq: request.BaseSeq);
        JsonObject json = ProtocolModel.ToJsonObject(update);
        SignatureV1.SignInPlace(_key, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(_key, SignedKind.StateUpdate, json);
        return JavaScriptJson.Stringify(json);
    }

    /// <summary>Signs and submits the updates as one batch: all are committed or none.</summary>
    public Task<SubmitResult> SubmitAsync(IReadOnlyList<UpdateRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return _transport.SubmitAsync([.. requests.Select(Sign)], cancellationToken);
    }

    public Task<SubmitResult> SubmitAsync(UpdateType type, UpdateOperation operation, string path, RawJson data, long? baseSeq = null, CancellationToken cancellationToken = default) =>
        SubmitAsync([new UpdateRequest(type, operation, path, data, baseSeq)], cancellationToken);
}

using System.Text.Json.Nodes;
using Vivim.ExitNodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Anchors;

/// <summary>Reads: the head, pages of the log, one document with its proof, and the signed snapshot.</summary>
public sealed partial class AnchorStateGrain
{
    public Task<AnchorHead> GetHeadAsync() => Task.FromResult(Head());

    private AnchorHead Head() => new(_did, _headSeq, _tree.RootHex, _retainedFromSeq, _tree.TotalWeight);

    /// <summary>
    /// Updates stay the text the log holds (no parse here and no re-shaping in the gateway), packed into one UTF-8
    /// block that Orleans copies whole; commits, small, are records.
    /// </summary>
    public async Task<StoredUpdatePage> GetUpdatesAsync(long afterSeq, int limit)
    {
        var head = _headSeq;
        if (afterSeq < _retainedFromSeq - 1)
        {
            return new StoredUpdatePage([], [], head, ResyncRequired: true);
        }

        var page = await log.ReadPackedAsync(_did, Math.Max(afterSeq, 0), Math.Clamp(limit, 1, _options.MaxPageUpdates));
        return new StoredUpdatePage(
            page.Updates,
            [.. page.Commits.Select(c => ProtocolModel.Parse<Commit>(System.Text.Encoding.UTF8.GetBytes(c.Json), JsonLimits.Snapshot))],
            head);
    }

    public async Task<DocumentProof?> GetDocumentAsync(string path)
    {
        await _commitLock.WaitAsync();
        try
        {
            var document = await log.ReadDocumentAsync(_did, path);
            return document is null
                ? null
                : new DocumentProof(path, new RawJson(document.Json), document.Seq, _tree.RootHex, _tree.GetProof(path).ToBase64Url());
        }
        finally
        {
            _commitLock.Release();
        }
    }

    public async Task<StateSnapshot> GetSnapshotAsync()
    {
        var key = _key ?? throw new NotHostedException($"{_did} is not hosted here.");
        await _commitLock.WaitAsync();
        try
        {
            var documents = new List<KeyValuePair<string, JsonNode?>>();
            await foreach (var document in log.ReadDocumentsAsync(_did))
            {
                documents.Add(new(document.Path, ProtocolJson.Parse(document.Json, JsonLimits.Snapshot)));
            }

            return SnapshotSigner.Sign(key, _did, _headSeq, _tree.RootHex, documents, time.GetUtcNow().ToUnixTimeMilliseconds());
        }
        finally
        {
            _commitLock.Release();
        }
    }
}

using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Vivim.Tests.Storage;

/// <summary>The requests a storage client sent, with the sizes of the answers: what a read asked for, and what came back.</summary>
public sealed class RecordedRequests : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<(string Method, string Uri, long ResponseBytes)> _sent = new();

    public IReadOnlyList<(string Method, string Uri, long ResponseBytes)> Sent => [.. _sent];

    public void Clear() => _sent.Clear();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        Record(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        Record(message);
    }

    private void Record(HttpMessage message)
    {
        var bytes = message.Response.ContentStream is { CanSeek: true } body ? body.Length : -1;
        _sent.Enqueue((message.Request.Method.ToString(), Uri.UnescapeDataString(message.Request.Uri.ToString()), bytes));
    }
}

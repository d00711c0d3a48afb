using System.Collections.Concurrent;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Vivim.Tests.Storage;

/// <summary>
/// The requests a storage client sent, with the sizes of the answers (what a read asked for, and what came back),
/// and a fault to inject: a request whose body <see cref="FailWhen"/> picks fails before it is sent, as if the
/// process had died at that point (nothing of it reaches the service).
/// </summary>
public sealed class RecordedRequests : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<(string Method, string Uri, long ResponseBytes)> _sent = new();

    public IReadOnlyList<(string Method, string Uri, long ResponseBytes)> Sent => [.. _sent];

    /// <summary>Picks, by its body, a request to fail; null fails none.</summary>
    public Func<string, bool>? FailWhen { get; set; }

    public int Failed { get; private set; }

    public void Clear() => _sent.Clear();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        InjectFault(message);
        ProcessNext(message, pipeline);
        Record(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        InjectFault(message);
        await ProcessNextAsync(message, pipeline);
        Record(message);
    }

    private void InjectFault(HttpMessage message)
    {
        if (FailWhen is not { } fails || message.Request.Content is not { } content)
        {
            return;
        }

        using var body = new MemoryStream();
        content.WriteTo(body, CancellationToken.None);
        if (fails(System.Text.Encoding.UTF8.GetString(body.ToArray())))
        {
            Failed++;
            throw new RequestFailedException(503, "Injected by the test: the request was never sent.");
        }
    }

    private void Record(HttpMessage message)
    {
        var bytes = message.Response.ContentStream is { CanSeek: true } body ? body.Length : -1;
        _sent.Enqueue((message.Request.Method.ToString(), Uri.UnescapeDataString(message.Request.Uri.ToString()), bytes));
    }
}

using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Vivim.Protocol.Json;

namespace Vivim.Benchmarks;

/// <summary>
/// RFC 8785 and the JSON.stringify reproduction on a 1 KiB and a 64 KiB document, next to System.Text.Json writing the
/// same node (the baseline: a plain serializer with no canonical ordering).
/// </summary>
[MemoryDiagnoser]
public class JcsBenchmarks
{
    private JsonNode _document = null!;
    private byte[] _text = null!;

    [Params(1024, 65536)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _document = Document(Bytes);
        _text = Encoding.UTF8.GetBytes(_document.ToJsonString());
    }

    [Benchmark(Baseline = true)]
    public string SystemTextJsonWrite() => _document.ToJsonString();

    [Benchmark]
    public byte[] Canonicalize() => Jcs.Canonicalize(_document);

    [Benchmark]
    public byte[] Stringify() => JavaScriptJson.StringifyToUtf8(_document);

    [Benchmark]
    public JsonNode? ParseStrict() => ProtocolJson.Parse(_text);

    /// <summary>A realistic document of about <paramref name="size"/> bytes: mixed keys, strings, numbers, nesting.</summary>
    internal static JsonNode Document(int size)
    {
        var root = new JsonObject();
        var items = new JsonArray();
        root["kind"] = "memory-index";
        root["version"] = 3;
        root["items"] = items;
        var i = 0;
        while (Encoding.UTF8.GetByteCount(root.ToJsonString()) < size)
        {
            items.Add(new JsonObject
            {
                ["id"] = $"note-{i}",
                ["score"] = (i * 0.37) + 0.001,
                ["created"] = 1767225600000 + (i * 1000),
                ["title"] = $"Notiz {i} — ünïcødé ✓",
                ["tags"] = new JsonArray("a", "b", i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                [i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = i % 2 == 0,
            });
            i++;
        }

        return root;
    }
}

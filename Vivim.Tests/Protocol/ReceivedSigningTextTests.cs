using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Client;
using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>
/// A received update read in one pass (<see cref="ReceivedSigningText"/>) against the strict parse into a tree and
/// the signing bytes written from it: the same record, signing bytes, <c>data</c> range and proof signature, or the
/// same refusal. The pass takes text already in canonical token form and leaves everything else to the tree.
/// </summary>
public sealed class ReceivedSigningTextTests : IDisposable
{
    private const string Signature = "9f3a6c0e5b2d4f8a1c7e9b3d5f0a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a7c9e";
    private static readonly string ProofText = $$"""{"type":"vivim-v2","signature":"{{Signature}}"}""";

    private readonly TestAnchor _anchor = new();

    public void Dispose() => _anchor.Dispose();

    /// <summary>An update as the log stores it: its author's members in the SDK's order, then the anchor's.</summary>
    private static string Update(string data, string? proof = null, string? extra = null) =>
        $$"""{"updateId":"u-1","type":"memory","timestamp":1700000000000,"sourceDid":"did:key:z6MkTest","sourceCloneId":"clone-test","operation":"create","path":"memoryIndex/notes/1","data":{{data}},"merkleProof":"AAECAw","signature":"","proof":{{proof ?? ProofText}}{{extra}},"seq":7}""";

    private static string Outcome(Func<StateUpdate> parse)
    {
        try
        {
            var update = parse();
            Assert.True(ReceivedUpdates.TryGet(update, out var received));
            var signing = received.SigningBytes is { } bytes ? Convert.ToHexString(bytes) : "none";
            var signature = received.ProofSignature is { } proof ? Convert.ToHexString(proof) : "none";
            return $"{update} | {signing} | {received.Data} | {signature} | tree kept: {received.Json is not null}";
        }
        catch (Exception e)
        {
            return $"{e.GetType().FullName}: {e.Message}";
        }
    }

    /// <summary>Both ways give the same; <paramref name="onePass"/> says whether the text should take the one pass.</summary>
    private static string AssertAsTree(byte[] utf8, bool? onePass, JsonLimits? limits = null)
    {
        limits ??= JsonLimits.Snapshot;
        if (onePass is { } expected)
        {
            Assert.Equal(expected, ReceivedSigningText.TryRead(utf8, limits, out _, out _, out _));
        }

        var viaTree = Outcome(() => ReceivedUpdates.ParseThroughTree(utf8, limits));
        Assert.Equal(viaTree, Outcome(() => ReceivedUpdates.Parse(utf8, limits)));
        return viaTree;
    }

    private static string AssertAsTree(string text, bool? onePass, JsonLimits? limits = null) => AssertAsTree(Encoding.UTF8.GetBytes(text), onePass, limits);

    /// <summary>
    /// Both ways give the same, and the one pass reads the record itself exactly when <paramref name="recordInPass"/>
    /// (else the record reader reads it, or refuses it, from the same text): a record read in the pass is the tree's.
    /// </summary>
    private static string AssertRecord(string text, bool recordInPass)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var outcome = AssertAsTree(utf8, onePass: null);
        ReceivedSigningText.TryRead(utf8, JsonLimits.Snapshot, out _, out _, out _, out _, out var record);
        Assert.Equal(recordInPass, record is not null);
        if (record is not null)
        {
            Assert.Equal(ReceivedUpdates.ParseThroughTree(utf8, JsonLimits.Snapshot), record);
        }

        return outcome;
    }

    /// <summary>Refused both ways alike; the text takes the one pass only when the record, not the JSON, is what is wrong.</summary>
    private static void AssertRefused(string text, string expected, bool onePass = false) =>
        Assert.StartsWith(expected + ":", AssertAsTree(text, onePass), StringComparison.Ordinal);

    [Fact]
    public void Updates_the_log_stores_take_the_one_pass_and_match_the_tree()
    {
        // As the anchor stores them: the author's signed JSON with seq and merkleProof set, written by JSON.stringify.
        foreach (var (path, data) in new[]
        {
            ("identity/profile", """{"name":"Ada","b":[1,2.5,-3,1e21,5e-7,{"z":null,"y":true,"x":false}],"a":{"é":"ü","😀":1,"\uffff":2}}"""),
            ("memoryIndex/notes/1", """{"text":"line\nbreak \"quoted\" \\ tab\t ctl\u0001 del\u007f ls\u2028","n":0.1}"""),
            ("apps/chat", "null"),
        })
        {
            var json = _anchor.AuthorSign(UpdateOperation.Create, path, data);
            json["seq"] = 42.0;
            json["merkleProof"] = "AAECAwQ";
            var text = JavaScriptJson.Stringify(json);
            var received = AssertAsTree(text, onePass: true);
            Assert.Contains("tree kept: False", received, StringComparison.Ordinal);
            AssertRecord(text, recordInPass: true);

            // The record's data is read as the stored text of it, which is already JSON.stringify's.
            Assert.True(ReceivedSigningText.TryRead(Encoding.UTF8.GetBytes(text), JsonLimits.Snapshot, out _, out _, out _, out var stringified));
            Assert.Equal(JavaScriptJson.Stringify(json["data"]), Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)[stringified]));
        }
    }

    [Fact]
    public void Every_canonical_form_in_the_protocol_vectors_takes_the_one_pass_as_data()
    {
        var vectors = JsonNode.Parse(File.ReadAllText(Repository.PathOf("docs", "protocol-vectors.json")))!;
        foreach (var v in vectors["jcs"]!.AsArray())
        {
            AssertAsTree(Update(v!["canonical"]!.GetValue<string>()), onePass: true);

            // The inputs as written (exponents, escapes, key order): whichever way they take, the same result.
            AssertAsTree(Update(v["inputText"]!.GetValue<string>()), onePass: null);
        }

        foreach (var v in vectors["v2"]!.AsArray().Where(v => v!["kind"]!.GetValue<string>() == "StateUpdate"))
        {
            var obj = v!["object"]!.AsObject().DeepClone().AsObject();
            AssertAsTree(JavaScriptJson.Stringify(obj), onePass: null);
            obj["seq"] = 3.0;
            AssertAsTree(JavaScriptJson.Stringify(obj), onePass: true);
        }
    }

    [Theory]
    [InlineData("""{"b":1,"a":2}""")] // out of order
    [InlineData("{\"😀\":1,\"\uffff\":2}")] // UTF-16 order puts the surrogate pair first; UTF-8 bytes would not
    [InlineData("{\"\uffff\":2,\"😀\":1}")]
    [InlineData("{\"\uffff\":2,\"\ue000\":3,\"😀\":1,\"é\":0}")]
    [InlineData("""{"ab":1,"a":2,"":3,"a\nb":4,"a\u0001":5,"a\"":6,"a\\":7,"é":8,"e":9}""")]
    [InlineData("""[{"c":{"b":{"a":[3,2,1]}},"a":0},"x",[],{}]""")]
    [InlineData("""{"b":1,"1":2,"0":3,"01":4,"4294967295":5}""")] // JSON.stringify moves array-index keys first
    [InlineData("""[{"10":1,"9":2}]""")]
    [InlineData("""{"big":12345678901234567000,"huge":1e+21,"small":1e-7,"tiny":5e-324,"neg":-1.5,"int":-42,"zero":0,"max":9007199254740991}""")]
    public void Canonical_tokens_in_any_key_order_take_the_one_pass(string data) => AssertAsTree(Update(data), onePass: true);

    [Fact]
    public void Whitespace_between_tokens_takes_the_one_pass()
    {
        var spaced = Update("""{ "b" : [ 1 , 2 ] ,	"a" : null }""").Replace(",\"", ",\n  \"", StringComparison.Ordinal);
        AssertAsTree(" " + spaced + "\r\n", onePass: true);
    }

    [Theory]
    [InlineData("1e2")]
    [InlineData("100.0")]
    [InlineData("1E21")]
    [InlineData("-0")]
    [InlineData("0.10")]
    [InlineData("9007199254740993")]
    [InlineData("\"\\u0041\"")]
    [InlineData("\"\\/\"")]
    [InlineData("\"\\u001F\"")]
    [InlineData("\"\\u000a\"")]
    [InlineData("\"\\u00e9\"")]
    [InlineData("\"\\ud83d\\ude00\"")]
    [InlineData("""{"\u0062":1,"a":2}""")]
    public void Text_not_in_canonical_form_goes_the_tree_way_with_the_same_result(string data) => AssertAsTree(Update(data), onePass: false);

    [Theory]
    [InlineData("""{"a":1,"a":2}""", JsonFormatException.DuplicateKey)]
    [InlineData("""{"b":1,"a":1,"b":2}""", JsonFormatException.DuplicateKey)]
    [InlineData("""{"a":1,"\u0061":2}""", JsonFormatException.DuplicateKey)]
    [InlineData("\"\\ud800\"", JsonFormatException.LoneSurrogate)]
    [InlineData("\"\\udc00\\ud800\"", JsonFormatException.LoneSurrogate)]
    [InlineData("1e400", JsonFormatException.NumberOutOfRange)]
    [InlineData("[1,]", JsonFormatException.Malformed)]
    [InlineData("{'a':1}", JsonFormatException.Malformed)]
    public void Refusals_of_the_strict_parse_are_the_same(string data, string code)
    {
        var refused = Assert.Throws<JsonFormatException>(() => ReceivedUpdates.Parse(Encoding.UTF8.GetBytes(Update(data)), JsonLimits.Snapshot));
        Assert.Equal(code, refused.Code);
        AssertRefused(Update(data), typeof(JsonFormatException).FullName!);
    }

    [Fact]
    public void Refusals_of_the_whole_text_are_the_same()
    {
        var update = Update("1");
        AssertRefused(update.Replace("\"seq\":7", "\"seq\":7,\"seq\":8", StringComparison.Ordinal), typeof(JsonFormatException).FullName!);
        AssertRefused(update.Replace("\"path\":", "\"data\":2,\"path\":", StringComparison.Ordinal), typeof(JsonFormatException).FullName!);
        AssertRefused(update + "{}", typeof(JsonFormatException).FullName!);
        AssertRefused(update + " x", typeof(JsonFormatException).FullName!);
        AssertRefused("[" + update + "]", typeof(JsonFormatException).FullName!);
        AssertRefused(string.Empty, typeof(JsonFormatException).FullName!);
        AssertRefused(update[..^1], typeof(JsonFormatException).FullName!);
        AssertRefused(update.Replace("\"seq\":7", "\"seq\":7,\"extra\":1", StringComparison.Ordinal), typeof(ProtocolModelException).FullName!, onePass: true);
        AssertRefused(update.Replace("\"data\":1,", string.Empty, StringComparison.Ordinal), typeof(ProtocolModelException).FullName!, onePass: true);
        AssertRefused(Update("1", proof: $$"""{"type":"vivim-v2","signature":"{{Signature}}","x":1}"""), typeof(ProtocolModelException).FullName!);

        // A lone surrogate's escape in a member the pass reads into the record: refused as the strict parse refuses it,
        // not thrown by the reader.
        foreach (var member in new[] { "\"updateId\":\"u-1\"", "\"sourceDid\":\"did:key:z6MkTest\"", "\"path\":\"memoryIndex/notes/1\"", "\"merkleProof\":\"AAECAw\"" })
        {
            var name = member[..(member.IndexOf(':', StringComparison.Ordinal) + 1)];
            AssertRefused(update.Replace(member, name + "\"a\\ud800b\"", StringComparison.Ordinal), typeof(JsonFormatException).FullName!);
        }

        var invalid = Encoding.UTF8.GetBytes(Update("\"é\""));
        invalid[Array.IndexOf(invalid, (byte)0xC3)] = 0xFF;
        Assert.Equal(JsonFormatException.InvalidUtf8, Assert.Throws<JsonFormatException>(() => ReceivedUpdates.Parse(invalid, JsonLimits.Snapshot)).Code);
        AssertAsTree(invalid, onePass: false);

        var small = new JsonLimits(200, 64);
        Assert.Equal(JsonFormatException.TooLarge, Assert.Throws<JsonFormatException>(() => ReceivedUpdates.Parse(Encoding.UTF8.GetBytes(update), small)).Code);
        AssertAsTree(update, onePass: false, small);
    }

    [Fact]
    public void Nesting_to_the_limit_takes_the_one_pass_and_past_it_is_refused_the_same()
    {
        // The update is level 1, so data nested 63 deep reaches the limit of 64.
        AssertAsTree(Update(new string('[', 63) + new string(']', 63)), onePass: true);
        var refused = Assert.Throws<JsonFormatException>(() => ReceivedUpdates.Parse(Encoding.UTF8.GetBytes(Update(new string('[', 64) + new string(']', 64))), JsonLimits.Snapshot));
        Assert.Equal(JsonFormatException.TooDeep, refused.Code);
        AssertRefused(Update(new string('[', 64) + new string(']', 64)), typeof(JsonFormatException).FullName!);
        AssertRefused(Update(new string('[', 300) + new string(']', 300)), typeof(JsonFormatException).FullName!);
    }

    [Fact]
    public void Signing_bytes_past_their_limit_keep_the_tree_as_before()
    {
        // The parse allows a snapshot's size; the signing bytes only the default limit, so the verifier reports it.
        var update = Update("1").Replace("memoryIndex/notes/1", new string('x', JsonLimits.Default.MaxBytes), StringComparison.Ordinal);
        var outcome = AssertAsTree(update, onePass: false);
        Assert.EndsWith("tree kept: True", outcome, StringComparison.Ordinal);
    }

    [Fact]
    public void Large_objects_take_the_one_pass_when_in_order_and_the_tree_otherwise()
    {
        var keys = Enumerable.Range(0, 500).Select(i => $"k{i:D4}").ToArray();
        AssertAsTree(Update("{" + string.Join(",", keys.Select(k => $"\"{k}\":1")) + "}"), onePass: true);
        AssertAsTree(Update("{" + string.Join(",", keys.Reverse().Select(k => $"\"{k}\":1")) + "}"), onePass: false);
        AssertAsTree(Update("{" + string.Join(",", keys.Take(100).Reverse().Select(k => $"\"{k}\":1")) + "}"), onePass: true);
    }

    [Theory]
    [InlineData("""{"signature":"SIG","type":"vivim-v2"}""", true)] // members in either order
    [InlineData("""{"type":"vivim-v2","signature":"SIGUPPER"}""", true)]
    [InlineData("""{"Type":"vivim-v2","signature":"SIG"}""", false)] // the record reads it, the proof's reader does not
    [InlineData("""{"type":"vivim-v3","signature":"SIG"}""", false)]
    [InlineData("""{"type":"vivim-v2","signature":"abcd"}""", false)]
    [InlineData("""{"type":"vivim-v2","signature":"SIGNOTHEX"}""", false)]
    [InlineData("""{"type":"vivim-\u0076\u0032","signature":"SIG"}""", false)]
    [InlineData("null", false)]
    public void Proofs_of_other_shapes_give_what_the_tree_gives(string proof, bool onePass)
    {
        var text = proof
            .Replace("SIGUPPER", Signature.ToUpperInvariant(), StringComparison.Ordinal)
            .Replace("SIGNOTHEX", "zz" + Signature[2..], StringComparison.Ordinal)
            .Replace("SIG", Signature, StringComparison.Ordinal);
        AssertAsTree(Update("1", proof: text), onePass);
    }

    [Fact]
    public void Members_named_in_another_case_or_missing_give_what_the_tree_gives()
    {
        var update = Update("1");
        AssertAsTree(update.Replace("\"proof\":", "\"Proof\":", StringComparison.Ordinal), onePass: false);
        AssertAsTree(update.Replace("\"data\":", "\"Data\":", StringComparison.Ordinal), onePass: null);
        AssertAsTree(update.Replace($",\"proof\":{ProofText}", string.Empty, StringComparison.Ordinal), onePass: false);
        AssertAsTree(update.Replace("\"seq\":7", "\"seq\":7,\"baseSeq\":6", StringComparison.Ordinal), onePass: true);
        AssertAsTree(update.Replace("\"seq\":7", "\"seq\":null", StringComparison.Ordinal), onePass: true);
    }

    [Theory]
    [InlineData("\"updateId\":\"u-1\"", "\"updateId\":\"u\\n1 \\\"é\\\"\"", true)] // escapes decoded as the reader decodes them
    [InlineData("\"sourceDid\":\"did:key:z6MkTest\"", "\"sourceDid\":\"did:key:z6MkTest\\t\"", true)]
    [InlineData("\"sourceCloneId\":\"clone-test\"", "\"sourceCloneId\":\"clöne-test\"", true)]
    [InlineData("\"operation\":\"create\"", "\"operation\":\"delete\"", true)]
    [InlineData("\"type\":\"memory\"", "\"type\":\"app\"", true)]
    [InlineData("\"seq\":7", "\"seq\":null", true)]
    [InlineData("\"seq\":7", "\"seq\":-7,\"baseSeq\":9007199254740991", true)]
    [InlineData("\"timestamp\":1700000000000", "\"timestamp\":0", true)]
    [InlineData("\"seq\":7", "\"Seq\":7", false)] // the record reader matches names in any case; the pass leaves it to it
    [InlineData("\"updateId\":\"u-1\"", "\"UpdateId\":\"u-1\"", false)]
    [InlineData("\"updateId\":\"u-1\"", "\"updateId\":null", false)]
    [InlineData("\"updateId\":\"u-1\"", "\"updateId\":1", false)]
    [InlineData("\"updateId\":\"u-1\",", "", false)]
    [InlineData("\"signature\":\"\",", "", false)]
    [InlineData("\"type\":\"memory\"", "\"type\":\"Memory\"", false)]
    [InlineData("\"type\":\"memory\"", "\"type\":\"bogus\"", false)]
    [InlineData("\"type\":\"memory\"", "\"type\":1", false)]
    [InlineData("\"type\":\"memory\"", "\"type\":\"memory\\n\"", false)]
    [InlineData("\"operation\":\"create\"", "\"operation\":null", false)]
    [InlineData("\"timestamp\":1700000000000", "\"timestamp\":1.5", false)]
    [InlineData("\"timestamp\":1700000000000", "\"timestamp\":\"1\"", false)]
    [InlineData("\"timestamp\":1700000000000", "\"timestamp\":null", false)]
    [InlineData("\"timestamp\":1700000000000", "\"timestamp\":9007199254740992", false)]
    [InlineData("\"timestamp\":1700000000000", "\"timestamp\":1e+21", false)]
    [InlineData("\"seq\":7", "\"seq\":7.5", false)]
    [InlineData("\"seq\":7", "\"seq\":\"7\"", false)]
    [InlineData("\"seq\":7", "\"seq\":7,\"baseSeq\":true", false)]
    [InlineData("\"seq\":7", "\"seq\":7,\"extra\":1", false)]
    public void The_record_is_read_in_the_pass_exactly_when_every_member_is_plainly_its_own(string member, string replacement, bool recordInPass)
    {
        var update = Update("{\"a\":1}");
        Assert.Contains(member, update, StringComparison.Ordinal);
        AssertRecord(update.Replace(member, replacement, StringComparison.Ordinal), recordInPass);
    }

    [Fact]
    public void The_record_is_read_in_the_pass_only_when_its_data_is_already_in_stringify_form()
    {
        AssertRecord(Update("""{"b":1,"a":[1,{"d":null,"c":"x\ny"}]}"""), recordInPass: true); // JSON.stringify keeps the order
        AssertRecord(Update("""{ "a" : 1 }"""), recordInPass: false);
        AssertRecord(Update("""{"b":1,"1":2}"""), recordInPass: false); // JSON.stringify would move the index key first
    }

    [Fact]
    public void Authors_read_one_after_another_on_a_thread_keep_their_own_did_and_clone()
    {
        // The pass reuses the last author's strings when the next update has the same ones: never another's.
        foreach (var (did, clone) in new[]
        {
            ("did:key:z6MkAAAA", "clone-a"), ("did:key:z6MkAAAA", "clone-a"), ("did:key:z6MkBBBB", "clone-a"),
            ("did:key:z6MkBBBB", "clone-b"), ("did:key:z6MkAAAA", "clone-bb"), ("did:key:z6MkAAAé", "clone-b"), ("did:key:z6MkAAAA", "clone-b"),
        })
        {
            var text = Update("1").Replace("did:key:z6MkTest", did, StringComparison.Ordinal).Replace("clone-test", clone, StringComparison.Ordinal);
            AssertRecord(text, recordInPass: true);
            var update = ReceivedUpdates.Parse(Encoding.UTF8.GetBytes(text), JsonLimits.Snapshot);
            Assert.Equal((did, clone), (update.SourceDid, update.SourceCloneId));
        }
    }
}

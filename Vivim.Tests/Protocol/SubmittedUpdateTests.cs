using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using Vivim.Tests.Client;
using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>
/// An update submitted to an anchor, read in one pass (<see cref="SubmittedUpdate"/>), against what the anchor does
/// with a tree: the strict parse, <see cref="StateUpdateReader"/>, the v1 signature's form, the v2 signing bytes and
/// proof, and the stored text with seq and merkleProof set. Where the pass takes the text, every one of those is the
/// same; where it declines, the tree path decides alone.
/// </summary>
public sealed class SubmittedUpdateTests : IDisposable
{
    private const long Seq = 4321;
    private const string MerkleProof = "AAECAwQF-_9";

    private static readonly JsonLimits Limits = new(64 * 1024, JsonLimits.Default.MaxDepth);

    private readonly TestAnchor _anchor = new();

    public void Dispose() => _anchor.Dispose();

    /// <summary>What the anchor's tree path makes of <paramref name="text"/>, or its refusal.</summary>
    private static string ThroughTree(byte[] utf8)
    {
        try
        {
            var json = ProtocolJson.ParseObject(utf8, Limits);
            var update = StateUpdateReader.Read(json);
            SignatureV1.ReadSignature(json);
            var signature = SignatureV2.ReadProofSignature(json);
            var signing = SignatureV2.SigningBytes(SignedKind.StateUpdate, json, "data", out var data);
            json["seq"] = (double)Seq;
            json["merkleProof"] = MerkleProof;
            return Describe(update, signing, data, signature, JavaScriptJson.Stringify(json, "data", update.Data.Text));
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    private static string Describe(StateUpdate update, byte[] signing, Range data, byte[] signature, string stored) =>
        $"{update} | {Convert.ToHexString(signing)} | {data} | {Convert.ToHexString(signature)} | {stored}";

    /// <summary>Asserts whether the pass takes <paramref name="text"/> and, when it does, that it gives the tree path's result.</summary>
    private static string AssertAsTree(string text, bool onePass)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var viaTree = ThroughTree(utf8);
        Assert.Equal(onePass, SubmittedUpdate.TryRead(utf8, Limits, out var read));
        if (read is not null)
        {
            Assert.Equal(viaTree, Describe(read.Update, read.SigningBytes, read.Data, read.ProofSignature, read.StoredText(Seq, MerkleProof)));
        }

        return viaTree;
    }

    private string Signed(string path, string data) => JavaScriptJson.Stringify(_anchor.AuthorSign(UpdateOperation.Create, path, data));

    [Fact]
    public void Updates_as_the_SDKs_send_them_take_the_one_pass_and_are_stored_as_the_tree_path_stores_them()
    {
        foreach (var (path, data) in new[]
        {
            ("identity/profile", """{"name":"Ada","b":[1,2.5,-3,1e21,5e-7,{"z":null,"y":true,"x":false}],"a":{"é":"ü","😀":1,"\uffff":2}}"""),
            ("memoryIndex/notes/1", """{"text":"line\nbreak \"quoted\" \\ tab\t ctl\u0001 del\u007f ls\u2028","n":0.1}"""),
            ("memoryIndex/notes/2", "\"just a string\""),
            ("memoryIndex/notes/3", "[1,\"two\",{\"three\":3}]"),
            ("memoryIndex/notes/4", "{}"),
        })
        {
            var stored = AssertAsTree(Signed(path, data), onePass: true);
            Assert.EndsWith($",\"seq\":{Seq}}}", stored, StringComparison.Ordinal);
            Assert.Contains($"\"merkleProof\":\"{MerkleProof}\"", stored, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_seq_the_author_wrote_is_replaced_where_it_stands()
    {
        // Last (after the proof), and first as null: replaced in place either way, as a JSON object takes a member it has.
        var json = _anchor.AuthorSign(UpdateOperation.Create, "memoryIndex/notes/1", """{"a":1}""");
        json["seq"] = 7.0;
        var last = AssertAsTree(JavaScriptJson.Stringify(json), onePass: true);
        Assert.EndsWith($"}},\"seq\":{Seq}}}", last, StringComparison.Ordinal);

        var first = new JsonObject { ["seq"] = null };
        foreach (var (name, value) in json.Where(m => m.Key != "seq").ToList())
        {
            first[name] = value?.DeepClone();
        }

        var stored = AssertAsTree(JavaScriptJson.Stringify(first), onePass: true);
        Assert.Contains($"| {{\"seq\":{Seq},\"updateId\"", stored, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_canonical_form_in_the_protocol_vectors_gives_the_tree_paths_result()
    {
        var vectors = JsonNode.Parse(File.ReadAllText(Repository.PathOf("docs", "protocol-vectors.json")))!;
        foreach (var v in vectors["jcs"]!.AsArray())
        {
            var canonical = v!["canonical"]!.GetValue<string>();

            // Canonical text is JSON.stringify's unless an object has array-index keys, which JSON.stringify moves first.
            var indexLike = System.Text.RegularExpressions.Regex.IsMatch(canonical, "[{,]\"[0-9]+\":");
            AssertAsTree(Signed("memoryIndex/notes/v", canonical), onePass: !indexLike);
        }
    }

    [Theory]
    [InlineData("\"updateId\":", "\"UpdateId\":")] // the record's reader matches names in any case; the tree path does not
    [InlineData("\"type\":\"memory\"", "\"type\":\"Memory\"")]
    [InlineData("\"operation\":\"create\"", "\"operation\":\"CREATE\"")]
    [InlineData("\"merkleProof\":\"\",", "")] // required
    [InlineData("\"sourceCloneId\":\"clone-test\",", "")]
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\":null")]
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\":\"\",\"extra\":1")]
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\":\"\",\"seq\":1.5")]
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\":\"\",\"seq\":\"1\"")]
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\":\"\",\"baseSeq\":9007199254740992")]
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\":\"\",\"merkleProof\":\"\"")]
    [InlineData("\"data\":{\"a\":1}", "\"data\":null")]
    [InlineData("\"data\":{\"a\":1}", "\"data\":{\"a\":1,\"0\":2}")] // JSON.stringify would move "0" first
    [InlineData("\"data\":{\"a\":1}", "\"data\":{\"a\":1,\"a\":2}")]
    [InlineData("\"data\":{\"a\":1}", "\"data\": {\"a\":1}")] // whitespace
    [InlineData("\"merkleProof\":\"\"", "\"merkleProof\": \"\"")] // whitespace in a member the signature leaves out
    [InlineData("\"proof\":{\"type\"", "\"proof\":{ \"type\"")]
    [InlineData("{\"updateId\"", " {\"updateId\"")]
    [InlineData("\"data\":{\"a\":1}", "\"data\":{\"a\":1e0}")]
    [InlineData("\"data\":{\"a\":1}", "\"data\":{\"a\":\"\\u0041\"}")]
    [InlineData("\"updateId\":\"", "\"updateId\":\"\\ud800")] // a lone surrogate's escape: the tree path refuses it
    [InlineData("\"path\":\"", "\"path\":\"\\udc00")]
    public void Text_the_tree_path_refuses_or_would_write_differently_does_not_take_the_one_pass(string from, string to)
    {
        var text = Signed("memoryIndex/notes/1", """{"a":1}""");
        Assert.Contains(from, text, StringComparison.Ordinal);
        AssertAsTree(ReplaceFirst(text, from, to), onePass: false);
    }

    [Fact]
    public void A_v1_signature_not_of_signature_form_and_a_proof_not_of_its_shape_go_the_tree_way()
    {
        var json = _anchor.AuthorSign(UpdateOperation.Create, "memoryIndex/notes/1", """{"a":1}""");
        foreach (var change in new Action<JsonObject>[]
        {
            j => j["signature"] = "zz" + j["signature"]!.GetValue<string>()[2..],
            j => j["signature"] = j["signature"]!.GetValue<string>()[2..],
            j => j["proof"]!["signature"] = j["proof"]!["signature"]!.GetValue<string>()[2..],
            j => j["proof"]!["type"] = "vivim-v3",
            j => j["proof"]!.AsObject().Add("extra", 1),
            j => j.Remove("proof"),
        })
        {
            var changed = json.DeepClone().AsObject();
            change(changed);
            Assert.Matches("^(SignatureFormatException|ProtocolModelException): ", AssertAsTree(JavaScriptJson.Stringify(changed), onePass: false));
        }
    }

    [Fact]
    public void A_stored_text_is_the_submitted_text_with_only_seq_and_merkleProof_changed()
    {
        var text = Signed("memoryIndex/notes/1", """{"a":"ü😀"}""");
        Assert.True(SubmittedUpdate.TryRead(Encoding.UTF8.GetBytes(text), Limits, out var read));
        var stored = JsonNode.Parse(read.StoredText(Seq, "p-r-o-o-f"))!.AsObject();
        var submitted = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(Seq, stored["seq"]!.GetValue<long>());
        Assert.Equal("p-r-o-o-f", stored["merkleProof"]!.GetValue<string>());
        stored.Remove("seq");
        stored["merkleProof"] = string.Empty;
        Assert.Equal(text, JavaScriptJson.Stringify(stored));
        Assert.Equal(text, JavaScriptJson.Stringify(submitted));
    }

    private static string ReplaceFirst(string text, string from, string to)
    {
        var at = text.IndexOf(from, StringComparison.Ordinal);
        return string.Concat(text.AsSpan(0, at), to, text.AsSpan(at + from.Length));
    }
}

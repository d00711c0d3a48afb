using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Vivim.Protocol.Json;
using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>Compares our JSON.stringify, number formatting and RFC 8785 with Node's own on thousands of random inputs.</summary>
public sealed class JsonDifferentialTests
{
    private static readonly Gen<string> JsonString =
        Gen.OneOf(
                Gen.Int[0x20, 0x7E],
                Gen.Int[0x00, 0x1F],
                Gen.Int[0x80, 0xD7FF],
                Gen.Int[0xE000, 0xFFFF],
                Gen.Int[0x10000, 0x10FFFF])
            .Array[0, 8]
            .Select(codePoints =>
            {
                var sb = new StringBuilder("\"");
                foreach (var cp in codePoints)
                {
                    var s = char.ConvertFromUtf32(cp);
                    foreach (var c in s)
                    {
                        // Escape everything JSON requires, and some other characters at random-ish, as a sender might.
                        if (c < 0x20 || c == '"' || c == '\\' || (c % 7 == 0 && c > 0x7F && !char.IsSurrogate(c)))
                        {
                            sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                        }
                        else
                        {
                            sb.Append(c);
                        }
                    }
                }

                return sb.Append('"').ToString();
            });

    private static readonly Gen<string> JsonKey = Gen.OneOf(
        JsonString,
        Gen.Int[0, 30].Select(i => "\"" + i.ToString(CultureInfo.InvariantCulture) + "\""),
        Gen.OneOfConst("\"01\"", "\"4294967294\"", "\"4294967295\"", "\"-1\"", "\"1.5\""));

    private static readonly Gen<string> JsonNumber = Gen.OneOf(
        Gen.Double.Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Gen.Double.Where(double.IsFinite).Select(d => d.ToString("E12", CultureInfo.InvariantCulture)),
        Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[-400, 400].Select(e => "1e" + e.ToString(CultureInfo.InvariantCulture)),
        Gen.OneOfConst("-0", "0.10", "1E21", "1e-7", "5e-324", "123456789012345678901234567890", "0.000001"));

    private static readonly Gen<string> JsonText = Gen.Recursive<string>((depth, self) =>
        depth >= 4
            ? Gen.OneOf(JsonString, JsonNumber, Gen.OneOfConst("true", "false", "null"))
            : Gen.OneOf(
                JsonString,
                JsonNumber,
                Gen.OneOfConst("true", "false", "null", "{}", "[]"),
                self.Array[0, 5].Select(items => "[" + string.Join(", ", items) + "]"),
                Gen.Select(JsonKey, self).Array[0, 6].Select(members =>
                {
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    var distinct = members.Where(m => seen.Add(ProtocolJson.Parse(m.Item1)!.GetValue<string>()));
                    return "{" + string.Join(",", distinct.Select(m => $"{m.Item1}: {m.Item2}")) + "}";
                })));

    [Fact]
    public async Task Stringify_numbers_and_JCS_agree_with_Node_on_random_input()
    {
        var bits = Gen.OneOf(Gen.Long, Gen.Double.Select(BitConverter.DoubleToInt64Bits))
            .Where(b => double.IsFinite(BitConverter.Int64BitsToDouble(b)))
            .Array[3000]
            .Single();
        var texts = JsonText.Where(t => ProtocolJsonAccepts(t)).Array[600].Single();

        var input = new JsonObject
        {
            ["numbers"] = new JsonArray(bits.Select(b => (JsonNode)((ulong)b).ToString("x16", CultureInfo.InvariantCulture)).ToArray()),
            ["texts"] = new JsonArray(texts.Select(t => (JsonNode)t).ToArray()),
        };
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, JavaScriptJson.Stringify(input, JsonLimits.Snapshot));
            var run = await NodeScript.RunAsync(Repository.PathOf("interop", "vectors"), "reference.mjs", [file], TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 0, run.StdErr);
            var node = ProtocolJson.ParseObject(Encoding.UTF8.GetBytes(run.StdOut), JsonLimits.Snapshot);

            var numbers = node["numbers"]!.AsArray();
            for (var i = 0; i < bits.Length; i++)
            {
                var x = BitConverter.Int64BitsToDouble(bits[i]);
                Assert.Equal(numbers[i]!["string"]!.GetValue<string>(), EcmaScriptNumber.Format(x));
                Assert.Equal(numbers[i]!["jcs"]!.GetValue<string>(), Jcs.CanonicalizeToString(JsonValue.Create(x)));
            }

            var results = node["texts"]!.AsArray();
            for (var i = 0; i < texts.Length; i++)
            {
                var parsed = ProtocolJson.Parse(texts[i], JsonLimits.Snapshot);
                Assert.Equal(results[i]!["stringify"]!.GetValue<string>(), JavaScriptJson.Stringify(parsed, JsonLimits.Snapshot));
                Assert.Equal(results[i]!["jcs"]!.GetValue<string>(), Jcs.CanonicalizeToString(parsed, JsonLimits.Snapshot));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static bool ProtocolJsonAccepts(string text)
    {
        try
        {
            ProtocolJson.Parse(text, JsonLimits.Snapshot);
            return true;
        }
        catch (JsonFormatException)
        {
            return false; // e.g. 1e400: JavaScript reads Infinity, the protocol refuses it
        }
    }
}

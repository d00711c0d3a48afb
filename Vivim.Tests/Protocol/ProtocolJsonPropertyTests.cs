using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using CsCheck;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Tests.Grains;
using Vivim.Tests.Support;

namespace Vivim.Tests.Protocol;

/// <summary>
/// The protocol JSON reader against adversarial input: arbitrary bytes and mutations of valid protocol JSON either parse
/// or fail with a <see cref="JsonFormatException"/> (records: a <see cref="ProtocolException"/>), never anything else
/// and never slowly; what parses writes back to text that parses to the same value.
/// </summary>
public sealed class ProtocolJsonPropertyTests
{
    private const int Iterations = 3000;

    /// <summary>Far beyond what a few thousand small inputs take; only a hang reaches it.</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    /// <summary>A small limit, so generated inputs cross it.</summary>
    private static readonly JsonLimits Small = new(4096, 16);

    private static readonly Lazy<byte[][]> Seeds = new(LoadSeeds);

    /// <summary>Fragments an attacker splices in: structure, escapes, lone surrogates, bad UTF-8, huge numbers.</summary>
    private static readonly byte[][] Fragments =
    [
        .. new[]
        {
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\ud83d\\ude00\"",
            "\\x41", "\\u00", "1e400", "-1e400", "1e-400", "123456789012345678901234567890123456789", "9007199254740993",
            "0x10", "NaN", "Infinity", "-", "01", "1.", ".5", "1e", "true", "nul", "null", "// c", "/* c */", ",]", ",}",
            "\"a\":1,", "\"a\":1,\"a\":2", "\"\\u0061\":1", "\u2028", "\0", "\t", " ", "\r\n", "\"\uFEFF\"",
            new string('[', 40), new string(']', 40), string.Concat(Enumerable.Repeat("{\"a\":", 20)),
        }.Select(Encoding.UTF8.GetBytes),
        [0xFF], [0xC0, 0x80], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xEF, 0xBB, 0xBF], [0x80],
    ];

    private static readonly Gen<byte[]> Seed = Gen.Int[0, 1000].Select(i => Seeds.Value[i % Seeds.Value.Length]);

    private static readonly Gen<byte[]> Mutated = Gen.OneOf<byte[]>(
        Gen.Byte.Array[0, 300],
        Gen.Select(Seed, Gen.Int[0, int.MaxValue], Gen.Byte, (seed, at, value) => Flip(seed, at, value)),
        Gen.Select(Seed, Gen.Int[0, int.MaxValue], Gen.Int[1, 8], Gen.Byte.Array[8], (seed, at, n, values) =>
        {
            var copy = seed;
            for (var i = 0; i < n; i++)
            {
                copy = Flip(copy, at + (i * 7919), values[i]);
            }

            return copy;
        }),
        Gen.Select(Seed, Gen.Int[0, int.MaxValue], (seed, length) => seed[..(length % (seed.Length + 1))]),
        Gen.Select(Seed, Gen.Int[0, int.MaxValue], Gen.Int[0, Fragments.Length - 1], (seed, at, fragment) => Insert(seed, at, Fragments[fragment])),
        Gen.Select(Seed, Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue], (seed, from, to) =>
        {
            // A slice of the text moved elsewhere: duplicated members, unbalanced nesting.
            var a = from % seed.Length;
            var b = Math.Min(seed.Length, a + (to % 40));
            return Insert(seed, to, seed[a..b]);
        }),
        Seed.Select(DuplicateFirstMember),
        Gen.Select(Gen.Int[1, 300], Gen.Bool, (depth, objects) => Encoding.UTF8.GetBytes(Nested(depth, objects))));

    [Fact]
    public Task Arbitrary_and_mutated_bytes_parse_or_fail_with_a_json_format_error() => WithinAsync(() =>
        Mutated.Sample(bytes =>
        {
            ParsesOrRefuses(bytes, JsonLimits.Default);
            ParsesOrRefuses(bytes, Small);
        }, iter: Iterations));

    [Fact]
    public Task What_parses_is_written_back_to_text_that_parses_to_the_same_value() => WithinAsync(() =>
        Gen.OneOf(Seed, Mutated).Sample(bytes =>
        {
            var parsed = ParsesOrRefuses(bytes, JsonLimits.Default);
            if (parsed is null)
            {
                return;
            }

            // JSON.stringify's text is the value as the SDK sees it: stringify ∘ parse is a fixed point from there on.
            var text = JavaScriptJson.StringifyToUtf8(parsed);
            var again = ProtocolJson.ParseObject(text);
            Assert.Equal(text, JavaScriptJson.StringifyToUtf8(again));
            Assert.Equal(Jcs.CanonicalizeToString(parsed), Jcs.CanonicalizeToString(again));
        }, iter: Iterations));

    [Fact]
    public Task Records_parse_or_fail_with_a_protocol_error_and_round_trip() => WithinAsync(() =>
        Gen.OneOf(Seed, Mutated).Sample(bytes =>
        {
            RecordRoundTrips<StateUpdate>(bytes);
            RecordRoundTrips<CloneRegistrationRequest>(bytes);
            RecordRoundTrips<Commit>(bytes);
            RecordRoundTrips<ExitNodeAdvertisement>(bytes);
        }, iter: Iterations));

    [Fact]
    public void Input_over_the_byte_limit_is_refused_as_too_large_before_anything_else_is_read() =>
        Gen.Select(Gen.Int[1, 2000], Gen.Int[1, 100], Gen.Int[0, 3]).Sample((limit, over, kind) =>
        {
            // Whatever the bytes (valid JSON, invalid UTF-8, nesting past the depth, garbage), only the length decides.
            var length = limit + over;
            var input = kind switch
            {
                0 => Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("1", length / 2)) + "]"),
                1 => [.. Enumerable.Repeat((byte)0xFF, length)],
                2 => [.. Enumerable.Repeat((byte)'[', length)],
                _ => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 31))],
            };
            Assert.Equal(JsonFormatException.TooLarge, Code(() => ProtocolJson.ParseObject(input, new JsonLimits(Math.Min(limit, input.Length - 1), 8))));
        }, iter: 500);

    [Fact]
    public void A_huge_input_is_refused_by_its_size_alone()
    {
        // 64 MiB of nesting: read into a tree it would be refused as too deep; refused as too large, it was never read.
        var huge = new byte[64 * 1024 * 1024];
        huge.AsSpan().Fill((byte)'[');
        Assert.Equal(JsonFormatException.TooLarge, Code(() => ProtocolJson.ParseObject(huge)));
        Assert.Equal(JsonFormatException.TooLarge, Code(() => ProtocolModel.Parse<StateUpdate>(huge)));
    }

    [Fact]
    public void Nesting_is_refused_past_the_depth_limit_and_accepted_up_to_it() =>
        Gen.Select(Gen.Int[1, 400], Gen.Bool, Gen.Int[1, 64]).Sample((depth, objects, maxDepth) =>
        {
            var limits = new JsonLimits(1024 * 1024, maxDepth);
            var text = Nested(depth, objects);
            if (depth <= maxDepth)
            {
                Assert.NotNull(ProtocolJson.Parse(text, limits));
            }
            else
            {
                Assert.Equal(JsonFormatException.TooDeep, Code(() => ProtocolJson.Parse(text, limits)));
            }
        }, iter: 1000);

    [Fact]
    public void Duplicate_keys_are_refused_however_they_are_escaped() =>
        Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 1, 12], Gen.Int[0, 11], Gen.Int[0, 5]).Sample((key, escapeAt, others) =>
        {
            var at = escapeAt % key.Length;
            var escaped = key[..at] + $"\\u{(int)key[at]:x4}" + key[(at + 1)..];
            var members = Enumerable.Range(0, others).Select(i => $"\"other{i}\":{i}").ToList();
            members.Insert(others / 2, $"\"{key}\":1");
            members.Add($"\"{escaped}\":2");
            var text = "{" + string.Join(",", members) + "}";
            Assert.Equal(JsonFormatException.DuplicateKey, Code(() => ProtocolJson.ParseObject(text)));
        }, iter: 1000);

    [Fact]
    public void Lone_surrogates_are_refused_and_pairs_accepted() =>
        Gen.Select(Gen.Int[0xD800, 0xDFFF], Gen.Int[0xDC00, 0xDFFF], Gen.String[Gen.Char.AlphaNumeric, 0, 8], Gen.Bool).Sample((first, second, around, asKey) =>
        {
            var lone = $"{around}\\u{first:x4}{around}";
            var pair = $"{around}\\u{0xD800 + (first & 0x3FF):x4}\\u{second:x4}{around}";
            var loneText = asKey ? $"{{\"{lone}\":1}}" : $"{{\"a\":\"{lone}\"}}";
            var pairText = asKey ? $"{{\"{pair}\":1}}" : $"{{\"a\":\"{pair}\"}}";
            Assert.Equal(JsonFormatException.LoneSurrogate, Code(() => ProtocolJson.ParseObject(loneText)));
            Assert.NotNull(ProtocolJson.ParseObject(pairText));
        }, iter: 1000);

    [Fact]
    public void Invalid_utf8_is_refused_wherever_it_stands() =>
        Gen.Select(Seed, Gen.Int[0, int.MaxValue], Gen.Byte[0x80, 0xFF].Array[1, 4]).Sample((seed, at, bytes) =>
        {
            var input = Insert(seed, at, bytes);
            if (!Utf8.IsValid(input))
            {
                Assert.Equal(JsonFormatException.InvalidUtf8, Code(() => ProtocolJson.ParseObject(input)));
            }
        }, iter: 1000);

    [Fact]
    public void Numbers_outside_a_double_are_refused_and_the_rest_read_as_doubles() =>
        Gen.Select(Gen.Int[1, 400], Gen.Int[-400, 400], Gen.Bool).Sample((digits, exponent, negative) =>
        {
            var mantissa = "1" + new string('7', digits - 1);
            var text = $"{{\"n\":{(negative ? "-" : string.Empty)}{mantissa}e{exponent.ToString(CultureInfo.InvariantCulture)}}}";
            var value = double.Parse(text[5..^1], CultureInfo.InvariantCulture);
            if (double.IsFinite(value))
            {
                Assert.Equal(value, JavaScriptJson.ToDouble(ProtocolJson.ParseObject(text)["n"]!.AsValue()));
            }
            else
            {
                Assert.Equal(JsonFormatException.NumberOutOfRange, Code(() => ProtocolJson.ParseObject(text)));
            }
        }, iter: 1000);

    [Fact]
    public void Strings_over_the_byte_limit_are_refused() =>
        Gen.Select(Gen.Int[16, 4096], Gen.Int[-8, 8], Gen.OneOfConst("a", "é", "😀", "\\n")).Sample((limit, slack, unit) =>
        {
            // {"s":"…"}: 8 bytes around the string's content, made of whole units up to about limit + slack bytes.
            var units = Math.Max(0, (limit + slack - 8) / Encoding.UTF8.GetByteCount(unit));
            var input = Encoding.UTF8.GetBytes("{\"s\":\"" + string.Concat(Enumerable.Repeat(unit, units)) + "\"}");
            var limits = new JsonLimits(limit, 8);
            if (input.Length > limit)
            {
                Assert.Equal(JsonFormatException.TooLarge, Code(() => ProtocolJson.ParseObject(input, limits)));
            }
            else
            {
                Assert.NotNull(ProtocolJson.ParseObject(input, limits)["s"]);
            }
        }, iter: 500);

    /// <summary>Parses, or checks the refusal is typed; returns the object when it parsed.</summary>
    private static JsonObject? ParsesOrRefuses(byte[] bytes, JsonLimits limits)
    {
        try
        {
            var parsed = ProtocolJson.ParseObject(bytes, limits);
            Assert.True(bytes.Length <= limits.MaxBytes);
            Assert.True(Utf8.IsValid(bytes));
            return parsed;
        }
        catch (JsonFormatException e)
        {
            Assert.False(string.IsNullOrEmpty(e.Code));
            if (bytes.Length > limits.MaxBytes)
            {
                Assert.Equal(JsonFormatException.TooLarge, e.Code);
            }

            return null;
        }
    }

    private static void RecordRoundTrips<T>(byte[] bytes)
        where T : class
    {
        T record;
        try
        {
            record = ProtocolModel.Parse<T>(bytes);
        }
        catch (ProtocolException)
        {
            return;
        }

        var text = ProtocolModel.ToJson(record);
        var again = ProtocolModel.Parse<T>(Encoding.UTF8.GetBytes(text));
        Assert.Equal(text, ProtocolModel.ToJson(again));
    }

    /// <summary>The code of the <see cref="JsonFormatException"/> <paramref name="parse"/> throws (it must throw one).</summary>
    private static string Code(Action parse) => Assert.ThrowsAny<ProtocolException>(parse).Code;

    private static async Task WithinAsync(Action property) => await Task.Run(property).WaitAsync(Hang);

    private static byte[] Flip(byte[] seed, int at, byte value)
    {
        if (seed.Length == 0)
        {
            return [value];
        }

        var copy = (byte[])seed.Clone();
        copy[at % copy.Length] = value;
        return copy;
    }

    private static byte[] Insert(byte[] seed, int at, byte[] fragment)
    {
        var i = at % (seed.Length + 1);
        return [.. seed.AsSpan(0, i), .. fragment, .. seed.AsSpan(i)];
    }

    /// <summary>The object with its first member written twice (a sender trying to smuggle a second value).</summary>
    private static byte[] DuplicateFirstMember(byte[] seed)
    {
        var text = Encoding.UTF8.GetString(seed);
        if (ProtocolJson.Parse(seed, JsonLimits.Default, allowLoneSurrogates: true) is not JsonObject { Count: > 0 } obj)
        {
            return seed;
        }

        var (name, value) = obj.First();
        var member = JavaScriptJson.Stringify(new JsonObject { [name] = value?.DeepClone() })[1..^1];
        return Encoding.UTF8.GetBytes("{" + member + "," + text.TrimStart()[1..]);
    }

    private static string Nested(int depth, bool objects) => objects
        ? string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{}" + new string('}', depth - 1)
        : new string('[', depth) + new string(']', depth);

    private static byte[][] LoadSeeds()
    {
        // The vectors hold JavaScript's lone surrogates on purpose: such seeds are refused, their mutations all the more.
        var vectors = ProtocolJson.Parse(File.ReadAllBytes(Repository.PathOf("docs", "protocol-vectors.json")), JsonLimits.Snapshot, allowLoneSurrogates: true)!;
        var seeds = vectors["v2"]!.AsArray().Select(v => JavaScriptJson.Stringify(v!["object"])).ToList();
        seeds.Add(ProtocolVectors.HardDocumentText);
        using var clone = SigningKey.FromSeedHex(ProtocolVectors.Seeds[1]);
        var request = ExitNodeTestKit.Request(clone, "nonce-1", 1767225600000) with { RequestedCloneId = "clone-1", ChallengeResponse = "challenge" };
        seeds.Add(ProtocolModel.ToJson(request));
        seeds.Add("{}");
        return [.. seeds.Select(Encoding.UTF8.GetBytes)];
    }
}

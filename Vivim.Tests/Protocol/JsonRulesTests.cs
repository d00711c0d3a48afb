using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol.Json;

namespace Vivim.Tests.Protocol;

public sealed class JsonRulesTests
{
    [Theory]
    [InlineData(1e21, "1e+21")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(0.1, "0.1")]
    [InlineData(5e-7, "5e-7")]
    [InlineData(1e-6, "0.000001")]
    [InlineData(1.234e-6, "0.000001234")]
    [InlineData(123456789012345680000.0, "123456789012345680000")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(2e-323, "2e-323")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(-0.0, "0")]
    [InlineData(9007199254740993.0, "9007199254740992")]
    [InlineData(333333333.33333329, "333333333.3333333")]
    [InlineData(1e30, "1e+30")]
    [InlineData(4.50, "4.5")]
    [InlineData(2e-3, "0.002")]
    [InlineData(0.000000000000000000000000001, "1e-27")]
    [InlineData(100.0, "100")]
    [InlineData(1e15, "1000000000000000")]
    [InlineData(123e-20, "1.23e-18")]
    [InlineData(-5e-7, "-5e-7")]
    public void Numbers_are_formatted_as_ECMAScript_does(double value, string expected) =>
        Assert.Equal(expected, EcmaScriptNumber.Format(value));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Non_finite_numbers_have_no_canonical_form(double value)
    {
        var e = Assert.Throws<JsonFormatException>(() => EcmaScriptNumber.Format(value));
        Assert.Equal(JsonFormatException.NumberOutOfRange, e.Code);
        Assert.Equal("null", JavaScriptJson.Stringify(JsonValue.Create(value)));
    }

    [Fact]
    public void Jcs_matches_the_RFC_8785_example()
    {
        const string input = """
            {"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
             "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
             "literals": [null, true, false]}
            """;
        const string expected = """{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}""";
        Assert.Equal(expected, Jcs.CanonicalizeToString(ProtocolJson.Parse(input)));
    }

    [Fact]
    public void Jcs_sorts_keys_by_UTF16_code_units()
    {
        const string input = """{"\u20ac":1,"\r":2,"\ufb33":3,"1":4,"\ud83d\ude00":5,"\u0080":6,"\u00f6":7,"10":8,"2":9}""";
        var canonical = Jcs.CanonicalizeToString(ProtocolJson.Parse(input));
        Assert.Equal("{\"\\r\":2,\"1\":4,\"10\":8,\"2\":9,\"\u0080\":6,\"ö\":7,\"€\":1,\"😀\":5,\"\ufb33\":3}", canonical);
    }

    [Fact]
    public void Jcs_refuses_lone_surrogates_that_stringify_escapes()
    {
        var value = new JsonObject { ["a"] = "x\ud800y", ["b"] = "\udc00" };
        var e = Assert.Throws<JsonFormatException>(() => Jcs.Canonicalize(value));
        Assert.Equal(JsonFormatException.LoneSurrogate, e.Code);
        Assert.Equal("""{"a":"x\ud800y","b":"\udc00"}""", JavaScriptJson.Stringify(value));
    }

    [Fact]
    public void Lone_surrogates_can_be_read_only_when_asked_as_JavaScript_reads_them()
    {
        var text = "{\"k\\udbff\":[\"a\\ud800b\",\"\\udc00\\n\\u00e9\\ud83d\\ude00\"]}"u8.ToArray();
        Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse(text));
        var value = ProtocolJson.Parse(text, null, allowLoneSurrogates: true);
        Assert.Equal("a\ud800b", value!["k\udbff"]![0]!.GetValue<string>());
        Assert.Equal("\udc00\né😀", value["k\udbff"]![1]!.GetValue<string>());
        Assert.Equal("{\"k\\udbff\":[\"a\\ud800b\",\"\\udc00\\né😀\"]}", JavaScriptJson.Stringify(value));
    }

    [Fact]
    public void Stringify_puts_array_index_keys_first_then_insertion_order()
    {
        var value = ProtocolJson.Parse("""{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967295":6,"4294967294":7,"-1":8}""");
        Assert.Equal("""{"1":4,"2":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6,"-1":8}""", JavaScriptJson.Stringify(value));
    }

    [Fact]
    public void Stringify_escapes_only_what_JavaScript_escapes()
    {
        var value = new JsonArray("\u0000\u0008\u0009\u000a\u000b\u000c\u000d\u001f\u007f", "<>&'\"\\/", "é😀\u2028");
        Assert.Equal("[\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\u007f\",\"<>&'\\\"\\\\/\",\"é😀\u2028\"]", JavaScriptJson.Stringify(value));
    }

    [Fact]
    public void A_member_given_as_its_text_is_written_as_stringify_writes_it()
    {
        var value = ProtocolJson.ParseObject("""{"b":1,"data":{"z":[1.50,"\u00e9\u2028\"\n"],"7":2,"a":null},"1":true,"c":"x"}""");
        var expected = JavaScriptJson.Stringify(value);
        Assert.Equal(expected, JavaScriptJson.Stringify(value, "data", JavaScriptJson.Stringify(value["data"])));

        // The text given is what is written: the member's node is not read.
        Assert.Equal(expected.Replace(JavaScriptJson.Stringify(value["data"]), "[]", StringComparison.Ordinal), JavaScriptJson.Stringify(value, "data", "[]"));
    }

    [Fact]
    public void Indented_stringify_matches_JSON_stringify_with_two_spaces()
    {
        var value = ProtocolJson.Parse("""{"a":[1,{}],"b":{"c":[]},"d":{"e":null}}""");
        const string expected = "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": []\n  },\n  \"d\": {\n    \"e\": null\n  }\n}";
        Assert.Equal(expected, JavaScriptJson.Stringify(value, indent: 2));
    }

    [Theory]
    [InlineData("""{"a":1,"a":2}""", JsonFormatException.DuplicateKey)]
    [InlineData("""{"a":{"b":1,"b":1}}""", JsonFormatException.DuplicateKey)]
    [InlineData("\"\\ud800\"", JsonFormatException.LoneSurrogate)]
    [InlineData("\"\\udc00x\"", JsonFormatException.LoneSurrogate)]
    [InlineData("{\"\\ud83d\":1}", JsonFormatException.LoneSurrogate)]
    [InlineData("1e400", JsonFormatException.NumberOutOfRange)]
    [InlineData("-1e400", JsonFormatException.NumberOutOfRange)]
    [InlineData("", JsonFormatException.Malformed)]
    [InlineData("{", JsonFormatException.Malformed)]
    [InlineData("[1,]", JsonFormatException.Malformed)]
    [InlineData("{\"a\":1,}", JsonFormatException.Malformed)]
    [InlineData("{} {}", JsonFormatException.Malformed)]
    [InlineData("// c\n{}", JsonFormatException.Malformed)]
    [InlineData("NaN", JsonFormatException.Malformed)]
    [InlineData("01", JsonFormatException.Malformed)]
    [InlineData("'a'", JsonFormatException.Malformed)]
    public void Bad_json_is_refused_with_a_typed_error(string text, string code)
    {
        var e = Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse(text));
        Assert.Equal(code, e.Code);

        // Checking without building a tree refuses the same text with the same error.
        var checkedOnly = Assert.Throws<JsonFormatException>(() => ProtocolJson.Validate(Encoding.UTF8.GetBytes(text)));
        Assert.Equal((e.Code, e.Message), (checkedOnly.Code, checkedOnly.Message));
    }

    [Theory]
    [InlineData("""{"a":[1,-2.5e3,{"b":null,"c":true}],"d":"\u00e9\ud83d\ude00\n","\u0061b":false}""")]
    [InlineData("[]")]
    [InlineData("\"x\"")]
    [InlineData("1e308")]
    public void Valid_json_passes_the_check_that_builds_no_tree(string text)
    {
        _ = ProtocolJson.Parse(text);
        ProtocolJson.Validate(Encoding.UTF8.GetBytes(text)); // throws if it refused what a parse accepts
    }

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        byte[] text = [(byte)'"', 0xC3, 0x28, (byte)'"'];
        Assert.Equal(JsonFormatException.InvalidUtf8, Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse(text)).Code);
        byte[] overlong = [(byte)'"', 0xC0, 0xAF, (byte)'"'];
        Assert.Equal(JsonFormatException.InvalidUtf8, Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse(overlong)).Code);
        Assert.Equal(JsonFormatException.InvalidUtf8, Assert.Throws<JsonFormatException>(() => ProtocolJson.Validate(overlong)).Code);
    }

    [Fact]
    public void Depth_and_size_limits_hold_on_input_and_output()
    {
        var limits = new JsonLimits(MaxBytes: 1000, MaxDepth: 8);
        Assert.NotNull(ProtocolJson.Parse(new string('[', 8) + new string(']', 8), limits));
        Assert.Equal(JsonFormatException.TooDeep, Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse(new string('[', 9) + new string(']', 9), limits)).Code);
        Assert.Equal(JsonFormatException.TooDeep, Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse(string.Concat(Enumerable.Repeat("{\"a\":", 9)) + "1" + new string('}', 9), limits)).Code);
        Assert.Equal(JsonFormatException.TooLarge, Assert.Throws<JsonFormatException>(() => ProtocolJson.Parse("\"" + new string('x', 1000) + "\"", limits)).Code);
        ProtocolJson.Validate(Encoding.UTF8.GetBytes(new string('[', 8) + new string(']', 8)), limits);
        Assert.Equal(JsonFormatException.TooDeep, Assert.Throws<JsonFormatException>(() => ProtocolJson.Validate(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 9)) + "1" + new string('}', 9)), limits)).Code);
        Assert.Equal(JsonFormatException.TooLarge, Assert.Throws<JsonFormatException>(() => ProtocolJson.Validate(Encoding.UTF8.GetBytes("\"" + new string('x', 1000) + "\""), limits)).Code);

        // A deep value built in code is refused by the writers too, never a stack overflow.
        JsonNode deep = new JsonArray();
        for (var i = 0; i < 300; i++)
        {
            deep = new JsonArray(deep);
        }

        Assert.Equal(JsonFormatException.TooDeep, Assert.Throws<JsonFormatException>(() => Jcs.Canonicalize(deep)).Code);
        Assert.Equal(JsonFormatException.TooLarge, Assert.Throws<JsonFormatException>(() => Jcs.Canonicalize(new JsonArray(new string('x', 2000)), limits)).Code);
        Assert.Throws<ArgumentOutOfRangeException>(() => new JsonLimits(1000, 100_000));
    }

    [Fact]
    public void Numbers_keep_JavaScript_double_semantics()
    {
        var value = ProtocolJson.Parse("[12345678901234567890, 9007199254740993, -0, 1.0, 1E2, 0.1e1]");
        Assert.Equal("[12345678901234567000,9007199254740992,0,1,100,1]", JavaScriptJson.Stringify(value));
        Assert.Equal("[12345678901234567000,9007199254740992,0,1,100,1]", Jcs.CanonicalizeToString(value));
    }

    [Fact]
    public void Canonical_form_is_a_fixed_point()
    {
        var text = """{"z":[1.50,{"b":"\u00e9","a":-0.0}],"a":"\ud83d\ude00"}""";
        var once = Jcs.Canonicalize(ProtocolJson.Parse(text));
        var twice = Jcs.Canonicalize(ProtocolJson.Parse(once));
        Assert.Equal(Encoding.UTF8.GetString(once), Encoding.UTF8.GetString(twice));
    }
}

using System.Text;
using Vivim.Gateway.Api;
using Vivim.Protocol.Json;

namespace Vivim.Tests.Gateway;

/// <summary>A clone's batch is cut into its updates' texts without a tree; its envelope obeys the rules a parse would.</summary>
public sealed class UpdateBatchBodyTests
{
    [Fact]
    public void Each_update_goes_on_as_the_author_sent_it()
    {
        var first = "{ \"updateId\" : \"a\",\n \"data\": {\"x\": [1, 2.50, \"\\u00e9\"]} }";
        var second = "{\"updateId\":\"b\",\"nested\":{\"updates\":[{}]}}";
        var body = $" {{ \"updates\" : [ {first} ,\n{second} ] }} ";

        var texts = UpdateBatchBody.Split(Encoding.UTF8.GetBytes(body), maxUpdates: 10);

        Assert.Equal([first, second], texts);
    }

    [Fact]
    public void Nesting_is_refused_exactly_where_a_parse_refuses_it()
    {
        var limit = JsonLimits.Default.MaxDepth;

        // The body is depth 1, its array 2, an update 3: the deepest update a parse accepts nests limit - 3 more arrays.
        foreach (var extra in new[] { limit - 4, limit - 3, limit - 2 })
        {
            var body = Encoding.UTF8.GetBytes("{\"updates\":[{\"data\":" + new string('[', extra) + new string(']', extra) + "}]}");
            var parseRefuses = Refuses(() => ProtocolJson.ParseObject(body), JsonFormatException.TooDeep);
            var splitRefuses = Refuses(() => UpdateBatchBody.Split(body, 10), JsonFormatException.TooDeep);
            Assert.Equal(parseRefuses, splitRefuses);
            Assert.Equal(extra > limit - 3, splitRefuses);
        }
    }

    [Fact]
    public void More_updates_than_the_cap_is_413_with_the_count()
    {
        var body = Encoding.UTF8.GetBytes("{\"updates\":[" + string.Join(',', Enumerable.Repeat("{}", 7)) + "]}");
        var e = Assert.Throws<ApiException>(() => UpdateBatchBody.Split(body, maxUpdates: 5));
        Assert.Equal(413, e.Status);
        Assert.Contains("holds 7", e.Message, StringComparison.Ordinal);
        Assert.Equal(5, UpdateBatchBody.Split(Encoding.UTF8.GetBytes("{\"updates\":[" + string.Join(',', Enumerable.Repeat("{}", 5)) + "]}"), 5).Count);
    }

    [Fact]
    public void Invalid_utf8_is_refused_before_anything_is_read()
    {
        byte[] body = [.. "{\"updates\":[{\"a\":\""u8, 0xC3, 0x28, .. "\"}]}"u8];
        var e = Assert.Throws<ApiException>(() => UpdateBatchBody.Split(body, 10));
        Assert.Equal(JsonFormatException.InvalidUtf8, e.Code);
    }

    private static bool Refuses(Action action, string code)
    {
        try
        {
            action();
            return false;
        }
        catch (JsonFormatException e)
        {
            return e.Code == code;
        }
        catch (ApiException e)
        {
            return e.Code == code;
        }
    }
}

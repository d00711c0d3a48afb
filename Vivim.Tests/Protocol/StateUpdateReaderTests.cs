using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Tests.Protocol;

/// <summary>The anchor's fast StateUpdate reader must accept and refuse exactly what the generic model reader does.</summary>
public sealed class StateUpdateReaderTests
{
    private static JsonObject Valid() => ProtocolJson.ParseObject("""
        {"updateId":"u-1","type":"memory","timestamp":1767225600000,"sourceDid":"did:key:z6Mkx","sourceCloneId":"",
         "operation":"create","path":"memoryIndex/a","data":{"z":[1,{"b":2,"a":1}],"10":true},"merkleProof":"","signature":"00",
         "proof":{"type":"vivim-v2","signature":"11"},"seq":4,"baseSeq":3}
        """);

    public static TheoryData<string, string?> Mutations()
    {
        var data = new TheoryData<string, string?>();
        string[] members = ["updateId", "type", "timestamp", "sourceDid", "sourceCloneId", "operation", "path", "data", "merkleProof", "signature", "proof", "seq", "baseSeq"];
        string?[] values = [null, "\"x\"", "1", "1.5", "true", "{}", "[]", "\"CREATE\"", "\"create\"", "\"update\"", "\"node\"", "1e21", "-3", "9007199254740993", "{\"type\":\"vivim-v2\",\"signature\":\"11\",\"x\":1}", "{\"type\":\"vivim-v2\"}", "{\"type\":1,\"signature\":\"11\"}"];
        foreach (var member in members)
        {
            data.Add(member, "<remove>");
            foreach (var value in values)
            {
                data.Add(member, value ?? "null");
            }
        }

        data.Add("extra", "1");
        return data;
    }

    [Theory]
    [MemberData(nameof(Mutations))]
    public void The_fast_reader_agrees_with_the_model_reader(string member, string? value)
    {
        var json = Valid();
        if (value == "<remove>")
        {
            json.Remove(member);
        }
        else
        {
            json[member] = ProtocolJson.Parse(value!);
        }

        StateUpdate? expected = null, actual = null;
        Exception? expectedError = null, actualError = null;
        try
        {
            expected = ProtocolModel.FromJsonObject<StateUpdate>(json);
        }
        catch (ProtocolModelException e)
        {
            expectedError = e;
        }

        try
        {
            actual = StateUpdateReader.Read(json);
        }
        catch (ProtocolModelException e)
        {
            actualError = e;
        }

        Assert.Equal(expectedError is null, actualError is null);
        if (expected is not null)
        {
            Assert.Equal(ProtocolModel.ToJson(expected), ProtocolModel.ToJson(actual!));
        }
        else
        {
            Assert.Contains(member, actualError!.Message, StringComparison.Ordinal);
        }
    }
}

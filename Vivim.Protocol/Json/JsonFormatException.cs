namespace Vivim.Protocol.Json;

/// <summary>JSON that the protocol cannot accept: malformed, too large or deep, or outside JavaScript's semantics.</summary>
public sealed class JsonFormatException : ProtocolException
{
    public const string Malformed = "json-malformed";
    public const string TooLarge = "json-too-large";
    public const string TooDeep = "json-too-deep";
    public const string InvalidUtf8 = "json-invalid-utf8";
    public const string DuplicateKey = "json-duplicate-key";
    public const string LoneSurrogate = "json-lone-surrogate";
    public const string NumberOutOfRange = "json-number-out-of-range";
    public const string UnsupportedValue = "json-unsupported-value";

    public JsonFormatException(string code, string message, Exception? inner = null)
        : base(code, message, inner)
    {
    }
}

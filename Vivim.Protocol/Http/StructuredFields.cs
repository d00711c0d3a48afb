using System.Globalization;
using System.Text;

namespace Vivim.Protocol.Http;

/// <summary>
/// The part of RFC 8941 structured fields that signature headers use: a one-member dictionary whose value is an inner
/// list of strings with parameters (<c>Signature-Input</c>) or a byte sequence (<c>Signature</c>). Strict: anything
/// else is refused with a reason.
/// </summary>
internal static class StructuredFields
{
    private const int MaxComponents = 8;

    public static (string Label, SignatureParameters Parameters) ParseSignatureInput(string header)
    {
        var reader = new Reader(header);
        var label = reader.Key();
        reader.Expect('=');
        reader.Expect('(');
        var components = new List<string>();
        reader.SkipSpaces();
        while (!reader.TryTake(')'))
        {
            if (components.Count > 0)
            {
                reader.ExpectSpace();
                reader.SkipSpaces();
                if (reader.TryTake(')'))
                {
                    break;
                }
            }

            components.Add(reader.String());
            if (components.Count > MaxComponents)
            {
                throw Fail("too many covered components");
            }
        }

        if (components.Distinct(StringComparer.Ordinal).Count() != components.Count)
        {
            throw Fail("a component is covered twice");
        }

        long? created = null;
        string? nonce = null, keyId = null, alg = null;
        while (reader.TryTake(';'))
        {
            var name = reader.Key();
            reader.Expect('=');
            switch (name)
            {
                case "created":
                    created = Set(created, reader.Integer(), name);
                    break;
                case "nonce":
                    nonce = Set(nonce, reader.String(), name);
                    break;
                case "keyid":
                    keyId = Set(keyId, reader.String(), name);
                    break;
                case "alg":
                    alg = Set(alg, reader.String(), name);
                    break;
                default:
                    throw Fail($"parameter '{name}' is not supported");
            }
        }

        reader.End();
        if (created is null || string.IsNullOrEmpty(nonce) || string.IsNullOrEmpty(keyId) || alg is null)
        {
            throw Fail("created, nonce, keyid and alg are all required");
        }

        return (label, new SignatureParameters(components, created.Value, nonce, keyId, alg));
    }

    public static (string Label, byte[] Signature) ParseSignature(string header)
    {
        var reader = new Reader(header);
        var label = reader.Key();
        reader.Expect('=');
        var bytes = reader.ByteSequence();
        reader.End();
        return (label, bytes);
    }

    public static string SerializeString(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException("Structured-field strings hold printable ASCII only.", nameof(value));
            }

            if (c is '"' or '\\')
            {
                text.Append('\\');
            }

            text.Append(c);
        }

        return text.Append('"').ToString();
    }

    private static T Set<T>(T? current, T value, string name)
    {
        if (current is not null)
        {
            throw Fail($"parameter '{name}' appears twice");
        }

        return value;
    }

    private static HttpSignatureException Fail(string reason) => new($"Malformed signature header: {reason}.");

    private ref struct Reader(string text)
    {
        private readonly string _text = text.Length <= HttpMessageSignature.MaxHeaderLength
            ? text.Trim(' ')
            : throw Fail("too long");

        private int _at;

        public void SkipSpaces()
        {
            while (_at < _text.Length && _text[_at] == ' ')
            {
                _at++;
            }
        }

        public void ExpectSpace()
        {
            if (_at >= _text.Length || _text[_at] != ' ')
            {
                throw Fail($"expected a space at {_at}");
            }
        }

        public void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw Fail($"expected '{c}' at {_at}");
            }
        }

        public bool TryTake(char c)
        {
            if (_at < _text.Length && _text[_at] == c)
            {
                _at++;
                return true;
            }

            return false;
        }

        public readonly void End()
        {
            if (_at != _text.Length)
            {
                throw Fail($"unexpected '{_text[_at]}' at {_at} (one signature per request)");
            }
        }

        /// <summary>sf-key: lowercase letter or '*', then lowercase letters, digits, '_', '-', '.', '*'.</summary>
        public string Key()
        {
            var start = _at;
            if (_at >= _text.Length || !(char.IsAsciiLetterLower(_text[_at]) || _text[_at] == '*'))
            {
                throw Fail($"expected a key at {_at}");
            }

            while (_at < _text.Length && (char.IsAsciiLetterLower(_text[_at]) || char.IsAsciiDigit(_text[_at]) || _text[_at] is '_' or '-' or '.' or '*'))
            {
                _at++;
            }

            return _text[start.._at];
        }

        public string String()
        {
            Expect('"');
            var value = new StringBuilder();
            while (true)
            {
                if (_at >= _text.Length)
                {
                    throw Fail("unterminated string");
                }

                var c = _text[_at++];
                if (c == '"')
                {
                    return value.ToString();
                }

                if (c == '\\')
                {
                    if (_at >= _text.Length || _text[_at] is not ('"' or '\\'))
                    {
                        throw Fail("bad escape in a string");
                    }

                    c = _text[_at++];
                }
                else if (c is < ' ' or > '~')
                {
                    throw Fail("strings hold printable ASCII only");
                }

                value.Append(c);
            }
        }

        public long Integer()
        {
            var start = _at;
            if (_at < _text.Length && _text[_at] == '-')
            {
                _at++;
            }

            while (_at < _text.Length && char.IsAsciiDigit(_text[_at]))
            {
                _at++;
            }

            // RFC 8941 §3.3.1: at most 15 digits.
            var digits = _text[start.._at];
            if (digits.Length - (digits.StartsWith('-') ? 1 : 0) is < 1 or > 15 || !long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                throw Fail($"expected an integer at {start}");
            }

            return value;
        }

        public byte[] ByteSequence()
        {
            Expect(':');
            var end = _text.IndexOf(':', _at);
            if (end < 0)
            {
                throw Fail("unterminated byte sequence");
            }

            var encoded = _text[_at..end];
            _at = end + 1;

            // RFC 8941 §3.3.5: the base64 alphabet only (Convert would also skip whitespace inside).
            if (!encoded.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
            {
                throw Fail("the byte sequence is not base64");
            }

            try
            {
                return Convert.FromBase64String(encoded);
            }
            catch (FormatException)
            {
                throw Fail("the byte sequence is not base64");
            }
        }
    }
}

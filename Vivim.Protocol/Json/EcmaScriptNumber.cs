using System.Globalization;

namespace Vivim.Protocol.Json;

/// <summary>
/// Formats a double exactly as ECMAScript's <c>Number::toString</c> (ECMA-262 §6.1.6.1.20), which both
/// <c>JSON.stringify</c> and RFC 8785 use: the shortest digit string that round-trips, placed in plain or
/// exponent notation by the position of the decimal point.
/// </summary>
public static class EcmaScriptNumber
{
    /// <summary>Longest output: "-" + 17 digits + "." + "e-324"-style exponent, or "0.000000" + 17 digits.</summary>
    public const int MaxLength = 32;

    public static string Format(double value)
    {
        Span<char> buffer = stackalloc char[MaxLength];
        var written = Format(value, buffer);
        return new string(buffer[..written]);
    }

    /// <summary>Writes the ECMAScript form of a finite <paramref name="value"/>; returns the number of chars written.</summary>
    /// <exception cref="JsonFormatException">NaN or an infinity, which JSON cannot carry.</exception>
    public static int Format(double value, Span<char> destination)
    {
        if (!double.IsFinite(value))
        {
            throw new JsonFormatException(JsonFormatException.NumberOutOfRange, "NaN and infinities have no JSON form.");
        }

        if (value == 0)
        {
            destination[0] = '0'; // both +0 and -0
            return 1;
        }

        // .NET's round-trip format yields the shortest digits that round-trip (closest to the value when
        // several qualify), which is the digit string ECMAScript asks for; only the layout differs.
        Span<char> raw = stackalloc char[MaxLength];
        if (!value.TryFormat(raw, out var rawLength, "R", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A double did not fit its round-trip buffer.");
        }

        var text = raw[..rawLength];
        var pos = 0;
        if (text[0] == '-')
        {
            destination[pos++] = '-';
            text = text[1..];
        }

        // Split "d.dddE±x" / "ddd.ddd" into significant digits s (k of them) and n, where value = 0.s × 10^n.
        var exponent = 0;
        var ePos = text.IndexOf('E');
        var mantissa = text;
        if (ePos >= 0)
        {
            exponent = int.Parse(text[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = text[..ePos];
        }

        Span<char> digits = stackalloc char[MaxLength];
        var k = 0;
        var pointAt = -1;
        foreach (var c in mantissa)
        {
            if (c == '.')
            {
                pointAt = k;
                continue;
            }

            digits[k++] = c;
        }

        var integerDigits = pointAt < 0 ? k : pointAt;
        var n = integerDigits + exponent;

        // Drop leading zeros (e.g. "0.0001") and trailing zeros: neither is significant.
        var start = 0;
        while (start < k - 1 && digits[start] == '0')
        {
            start++;
            n--;
        }

        var end = k;
        while (end > start + 1 && digits[end - 1] == '0')
        {
            end--;
        }

        var s = digits[start..end];
        k = s.Length;

        if (k <= n && n <= 21)
        {
            s.CopyTo(destination[pos..]);
            pos += k;
            destination.Slice(pos, n - k).Fill('0');
            return pos + n - k;
        }

        if (0 < n && n <= 21)
        {
            s[..n].CopyTo(destination[pos..]);
            pos += n;
            destination[pos++] = '.';
            s[n..].CopyTo(destination[pos..]);
            return pos + k - n;
        }

        if (-6 < n && n <= 0)
        {
            destination[pos++] = '0';
            destination[pos++] = '.';
            destination.Slice(pos, -n).Fill('0');
            pos += -n;
            s.CopyTo(destination[pos..]);
            return pos + k;
        }

        destination[pos++] = s[0];
        if (k > 1)
        {
            destination[pos++] = '.';
            s[1..].CopyTo(destination[pos..]);
            pos += k - 1;
        }

        destination[pos++] = 'e';
        destination[pos++] = n - 1 < 0 ? '-' : '+';
        Math.Abs(n - 1).TryFormat(destination[pos..], out var exponentLength, default, CultureInfo.InvariantCulture);
        return pos + exponentLength;
    }
}

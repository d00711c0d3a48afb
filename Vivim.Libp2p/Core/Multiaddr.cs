using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Vivim.Libp2p.Core;

/// <summary>
/// Immutable multiaddr with binary (uvarint code || value) and text (/name/value) forms.
/// Supported: ip4, tcp, udp, ip6, dns, dns4, dns6, dnsaddr, p2p (alias ipfs), p2p-circuit, quic-v1, ws, wss, tls, noise.
/// </summary>
public sealed class Multiaddr : IEquatable<Multiaddr>
{
    public const int MaxBinaryLength = 1024;
    public const int MaxComponents = 32;

    public const int Ip4 = 4;
    public const int Tcp = 6;
    public const int Udp = 273;
    public const int Ip6 = 41;
    public const int Dns = 53;
    public const int Dns4 = 54;
    public const int Dns6 = 55;
    public const int DnsAddr = 56;
    public const int P2p = 421;
    public const int P2pCircuit = 290;
    public const int QuicV1 = 461;
    public const int Ws = 477;
    public const int Wss = 478;
    public const int Tls = 448;
    public const int Noise = 454;

    // size: >0 fixed bytes, -1 variable (length-prefixed), 0 no value
    private static readonly (int Code, string Name, int Size)[] Protocols =
    [
        (Ip4, "ip4", 4), (Tcp, "tcp", 2), (Udp, "udp", 2), (Ip6, "ip6", 16),
        (Dns, "dns", -1), (Dns4, "dns4", -1), (Dns6, "dns6", -1), (DnsAddr, "dnsaddr", -1),
        (P2p, "p2p", -1), (P2pCircuit, "p2p-circuit", 0), (QuicV1, "quic-v1", 0),
        (Ws, "ws", 0), (Wss, "wss", 0), (Tls, "tls", 0), (Noise, "noise", 0),
    ];

    private readonly byte[] _bytes;
    private readonly MultiaddrComponent[] _components;
    private string? _text;

    private Multiaddr(byte[] bytes, MultiaddrComponent[] components)
    {
        _bytes = bytes;
        _components = components;
    }

    public IReadOnlyList<MultiaddrComponent> Components => _components;

    public ReadOnlySpan<byte> Bytes => _bytes;

    public byte[] ToBytes() => (byte[])_bytes.Clone();

    private static (int Code, string Name, int Size)? ByCode(ulong code)
    {
        foreach (var p in Protocols)
        {
            if ((ulong)p.Code == code)
            {
                return p;
            }
        }
        return null;
    }

    private static (int Code, string Name, int Size)? ByName(string name)
    {
        if (name == "ipfs")
        {
            name = "p2p";
        }
        foreach (var p in Protocols)
        {
            if (p.Name == name)
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>Decodes a binary multiaddr; throws <see cref="MalformedDataException"/> on any defect.</summary>
    public static Multiaddr FromBytes(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            throw new MalformedDataException("empty multiaddr");
        }
        if (data.Length > MaxBinaryLength)
        {
            throw new MalformedDataException($"multiaddr longer than {MaxBinaryLength} bytes");
        }
        var bytes = data.ToArray();
        var list = new List<MultiaddrComponent>();
        var pos = 0;
        while (pos < bytes.Length)
        {
            if (list.Count >= MaxComponents)
            {
                throw new MalformedDataException("too many multiaddr components");
            }
            var code = Varint.Read(bytes.AsSpan(pos), out var n);
            pos += n;
            var proto = ByCode(code) ?? throw new MalformedDataException($"unknown multiaddr protocol code {code}");
            int size;
            if (proto.Size >= 0)
            {
                size = proto.Size;
            }
            else
            {
                var len = Varint.Read(bytes.AsSpan(pos), out var m);
                pos += m;
                if (len > (ulong)(bytes.Length - pos))
                {
                    throw new MalformedDataException("multiaddr component value truncated");
                }
                size = (int)len;
            }
            if (size > bytes.Length - pos)
            {
                throw new MalformedDataException("multiaddr component value truncated");
            }
            var value = new ReadOnlyMemory<byte>(bytes, pos, size);
            ValidateValue(proto.Code, value.Span);
            list.Add(new MultiaddrComponent(proto.Code, proto.Name, value));
            pos += size;
        }
        return new Multiaddr(bytes, [.. list]);
    }

    private static void ValidateValue(int code, ReadOnlySpan<byte> value)
    {
        switch (code)
        {
            case P2p:
                PeerId.FromBytes(value);
                break;
            case Dns or Dns4 or Dns6 or DnsAddr:
                if (value.Length == 0 || value.Length > 255)
                {
                    throw new MalformedDataException("invalid DNS name length");
                }
                try
                {
                    _ = ProtoReader.StrictUtf8.GetString(value);
                }
                catch (DecoderFallbackException e)
                {
                    throw new MalformedDataException("DNS name is not UTF-8", e);
                }
                if (value.Contains((byte)'/'))
                {
                    throw new MalformedDataException("DNS name contains '/'");
                }
                break;
        }
    }

    /// <summary>Parses the text form, e.g. "/ip4/127.0.0.1/tcp/4001/p2p/12D3Koo...".</summary>
    public static Multiaddr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text[0] != '/' || text.Length > 4 * MaxBinaryLength)
        {
            throw new MalformedDataException($"invalid multiaddr text '{text}'");
        }
        var parts = text.Split('/');
        var ms = new MemoryStream();
        var i = 1;
        var count = 0;
        while (i < parts.Length)
        {
            if (parts[i].Length == 0 && i == parts.Length - 1)
            {
                break; // trailing slash
            }
            var proto = ByName(parts[i]) ?? throw new MalformedDataException($"unknown multiaddr protocol '{parts[i]}'");
            if (++count > MaxComponents)
            {
                throw new MalformedDataException("too many multiaddr components");
            }
            ms.Write(Varint.Encode((ulong)proto.Code));
            i++;
            if (proto.Size == 0)
            {
                continue;
            }
            if (i >= parts.Length)
            {
                throw new MalformedDataException($"multiaddr protocol '{proto.Name}' is missing its value");
            }
            var value = TextToValue(proto.Code, parts[i]);
            if (proto.Size < 0)
            {
                ms.Write(Varint.Encode((ulong)value.Length));
            }
            ms.Write(value);
            i++;
        }
        if (count == 0)
        {
            throw new MalformedDataException("empty multiaddr");
        }
        return FromBytes(ms.ToArray());
    }

    public static bool TryParse(string text, out Multiaddr? result)
    {
        try
        {
            result = Parse(text);
            return true;
        }
        catch (MalformedDataException)
        {
            result = null;
            return false;
        }
    }

    public static bool TryParseBytes(ReadOnlySpan<byte> bytes, out Multiaddr? result)
    {
        try
        {
            result = FromBytes(bytes);
            return true;
        }
        catch (MalformedDataException)
        {
            result = null;
            return false;
        }
    }

    private static byte[] TextToValue(int code, string s)
    {
        switch (code)
        {
            case Ip4:
                if (!IPAddress.TryParse(s, out var a4) || a4.AddressFamily != AddressFamily.InterNetwork || s.Count(c => c == '.') != 3)
                {
                    throw new MalformedDataException($"invalid ip4 address '{s}'");
                }
                return a4.GetAddressBytes();
            case Ip6:
                if (!IPAddress.TryParse(s, out var a6) || a6.AddressFamily != AddressFamily.InterNetworkV6)
                {
                    throw new MalformedDataException($"invalid ip6 address '{s}'");
                }
                return a6.GetAddressBytes();
            case Tcp or Udp:
                if (!ushort.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
                {
                    throw new MalformedDataException($"invalid port '{s}'");
                }
                return [(byte)(port >> 8), (byte)port];
            case P2p:
                return PeerId.Parse(s).ToByteArray();
            default:
                if (s.Length == 0)
                {
                    throw new MalformedDataException("empty multiaddr value");
                }
                return Encoding.UTF8.GetBytes(s);
        }
    }

    internal static string ValueToText(int code, ReadOnlySpan<byte> v) => code switch
    {
        Ip4 or Ip6 => new IPAddress(v).ToString(),
        Tcp or Udp => ((v[0] << 8) | v[1]).ToString(System.Globalization.CultureInfo.InvariantCulture),
        P2p => PeerId.FromBytes(v).ToString(),
        Dns or Dns4 or Dns6 or DnsAddr => Encoding.UTF8.GetString(v),
        _ => string.Empty,
    };

    public override string ToString()
    {
        if (_text is null)
        {
            var sb = new StringBuilder();
            foreach (var c in _components)
            {
                sb.Append('/').Append(c.Name);
                if (ByCode((ulong)c.Code)!.Value.Size != 0)
                {
                    sb.Append('/').Append(c.ValueText);
                }
            }
            _text = sb.ToString();
        }
        return _text;
    }

    /// <summary>The /p2p/ peer id, if present (last one wins).</summary>
    public PeerId? PeerId
    {
        get
        {
            for (var i = _components.Length - 1; i >= 0; i--)
            {
                if (_components[i].Code == P2p)
                {
                    return Core.PeerId.FromBytes(_components[i].Value.Span);
                }
            }
            return null;
        }
    }

    /// <summary>Returns the ip4|ip6/tcp endpoint of a TCP multiaddr, or null.</summary>
    public IPEndPoint? ToTcpEndPoint()
    {
        if (_components.Length >= 2 && _components[0].Code is Ip4 or Ip6 && _components[1].Code == Tcp)
        {
            var port = (_components[1].Value.Span[0] << 8) | _components[1].Value.Span[1];
            return new IPEndPoint(new IPAddress(_components[0].Value.Span), port);
        }
        return null;
    }

    public static Multiaddr FromTcpEndPoint(IPEndPoint ep)
    {
        var addr = ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address;
        var fam = addr.AddressFamily == AddressFamily.InterNetwork ? "ip4" : "ip6";
        return Parse($"/{fam}/{addr}/tcp/{ep.Port}");
    }

    public Multiaddr Encapsulate(Multiaddr other)
    {
        var b = new byte[_bytes.Length + other._bytes.Length];
        _bytes.CopyTo(b, 0);
        other._bytes.CopyTo(b, _bytes.Length);
        return FromBytes(b);
    }

    public Multiaddr WithPeerId(PeerId peer) => PeerId is not null ? this : Encapsulate(Parse("/p2p/" + peer));

    /// <summary>The address without a trailing /p2p/ component.</summary>
    public Multiaddr WithoutPeerId()
    {
        if (_components.Length > 1 && _components[^1].Code == P2p)
        {
            var last = _components[^1].Value.Length;
            var start = _bytes.Length - last - Varint.GetSize(P2p) - Varint.GetSize((ulong)last);
            return FromBytes(_bytes.AsSpan(0, start));
        }
        return this;
    }

    public bool Equals(Multiaddr? other) => other is not null && other._bytes.AsSpan().SequenceEqual(_bytes);

    public override bool Equals(object? obj) => Equals(obj as Multiaddr);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(_bytes);
        return h.ToHashCode();
    }
}

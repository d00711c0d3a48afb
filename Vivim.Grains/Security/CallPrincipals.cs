using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Vivim.Security;

/// <summary>
/// Mints and verifies the short-lived principal tokens that travel in <see cref="RequestContext"/> from a gateway (or an
/// operator tool) into grain calls: <c>kind|subject|expiry|mac</c>, MAC'd with the cluster secret.
/// </summary>
public sealed class CallPrincipals
{
    /// <summary>The <see cref="RequestContext"/> key of the token.</summary>
    public const string ContextKey = "vivim.principal";

    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(60);

    private const int MaxCached = 10_000;

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    // Every grain call from a client carries a token: each distinct token is MAC'd once and checked once, not per call.
    private readonly ConcurrentDictionary<CallPrincipal, (string Token, long RenewAt)> _minted = new();
    private readonly ConcurrentDictionary<string, (CallPrincipal Principal, long Expires)> _verified = new(StringComparer.Ordinal);

    public CallPrincipals(IOptions<ClusterSecretOptions> options, TimeProvider? time = null)
        : this(Decode(options.Value.ClusterSecret), time)
    {
    }

    public CallPrincipals(byte[] secret, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < 32)
        {
            throw new InvalidOperationException("Vivim:ClusterSecret must be at least 32 bytes (base64).");
        }

        _key = secret;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>A token for <paramref name="principal"/> valid for at least half the default lifetime (reused until then).</summary>
    public string Mint(CallPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_minted.TryGetValue(principal, out var cached) && now < cached.RenewAt)
        {
            return cached.Token;
        }

        var token = Mint(principal, DefaultLifetime);
        Bound(_minted);
        _minted[principal] = (token, now + ((long)DefaultLifetime.TotalMilliseconds / 2));
        return token;
    }

    public string Mint(CallPrincipal principal, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var expires = _time.GetUtcNow().Add(lifetime).ToUnixTimeMilliseconds();
        var body = string.Create(CultureInfo.InvariantCulture, $"{(int)principal.Kind}|{Base64Url(Encoding.UTF8.GetBytes(principal.Subject))}|{expires}");
        return body + "|" + Base64Url(Mac(body));
    }

    /// <summary>The principal a token vouches for, or null when it is missing, malformed, forged or expired.</summary>
    public CallPrincipal? Verify(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 1024)
        {
            return null;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_verified.TryGetValue(token, out var known))
        {
            return known.Expires >= now ? known.Principal : null;
        }

        var principal = VerifyMac(token, now, out var expires);
        if (principal is not null)
        {
            Bound(_verified);
            _verified[token] = (principal, expires);
        }

        return principal;
    }

    private CallPrincipal? VerifyMac(string token, long now, out long expires)
    {
        expires = 0;
        var macAt = token.LastIndexOf('|');
        if (macAt <= 0)
        {
            return null;
        }

        var body = token[..macAt];
        Span<byte> claimed = stackalloc byte[32];
        if (!TryBase64Url(token[(macAt + 1)..], claimed, out var macLength) || macLength != 32
            || !CryptographicOperations.FixedTimeEquals(claimed, Mac(body)))
        {
            return null;
        }

        var parts = body.Split('|');
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kind) || !Enum.IsDefined((PrincipalKind)kind)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out expires)
            || expires < now)
        {
            return null;
        }

        var subject = new byte[parts[1].Length];
        return TryBase64Url(parts[1], subject, out var subjectLength)
            ? new CallPrincipal((PrincipalKind)kind, Encoding.UTF8.GetString(subject, 0, subjectLength))
            : null;
    }

    /// <summary>The principal the current call context carries, verified.</summary>
    public CallPrincipal? Current => Verify(RequestContext.Get(ContextKey) as string);

    /// <summary>
    /// Makes grain calls in this async flow act for <paramref name="principal"/> until disposed. Each call checks the
    /// token's expiry, so long-lived work (a live session) enters a scope per call.
    /// </summary>
    public PrincipalScope Enter(CallPrincipal principal) => new(ContextKey, Mint(principal));

    /// <summary>Tokens are short-lived and few per principal; a full cache is simply started again.</summary>
    private static void Bound<TKey, TValue>(ConcurrentDictionary<TKey, TValue> cache)
        where TKey : notnull
    {
        if (cache.Count >= MaxCached)
        {
            cache.Clear();
        }
    }

    private byte[] Mac(string body) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(body));

    private static byte[] Decode(string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            throw new InvalidOperationException("Vivim:ClusterSecret is not set: every silo and gateway of a cluster needs the same base64 secret of at least 32 bytes.");
        }

        try
        {
            return Convert.FromBase64String(secret);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("Vivim:ClusterSecret is not base64.");
        }
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryBase64Url(string text, Span<byte> destination, out int written)
    {
        written = 0;
        if (text.Length > 1024)
        {
            return false;
        }

        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", 0 => string.Empty, _ => "!" };
        return Convert.TryFromBase64String(padded, destination, out written);
    }
}

/// <summary>Restores the previous principal when disposed.</summary>
public readonly struct PrincipalScope : IDisposable
{
    private readonly string _key;
    private readonly object? _previous;

    internal PrincipalScope(string key, string token)
    {
        _key = key;
        _previous = RequestContext.Get(key);
        RequestContext.Set(key, token);
    }

    public void Dispose()
    {
        if (_key is null)
        {
            return;
        }

        if (_previous is null)
        {
            RequestContext.Remove(_key);
        }
        else
        {
            RequestContext.Set(_key, _previous);
        }
    }
}

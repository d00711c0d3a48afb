using Microsoft.Extensions.Logging;

namespace Vivim.Hosting;

/// <summary>
/// A logger that masks secret query values (<see cref="QuerySecrets"/>) in a line's message and in its structured
/// values before any provider sees it. Lines without one pass on untouched, structure and all.
/// </summary>
internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        ArgumentNullException.ThrowIfNull(formatter);

        // A structured line's message is its template ({OriginalFormat}, one of the values) filled with its values:
        // when none of them holds a secret, neither does the message, and it is formatted once, by the providers.
        var values = state as IReadOnlyList<KeyValuePair<string, object?>>;
        if (values is not null && !values.Any(v => QuerySecrets.MayHold(Text(v.Value))))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            return;
        }

        var message = formatter(state, exception);
        if (values is null && !QuerySecrets.MayHold(message))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            return;
        }

        var redacted = new RedactedLogState(
            QuerySecrets.Redact(message),
            values is null ? [] : [.. values.Select(v => QuerySecrets.MayHold(Text(v.Value)) ? new KeyValuePair<string, object?>(v.Key, QuerySecrets.Redact(Text(v.Value)!)) : v)]);
        inner.Log(logLevel, eventId, redacted, exception, static (s, _) => s.Message);
    }

    // Values such as ASP.NET Core's QueryString and PathString are structs whose text is the URL part.
    private static string? Text(object? value) => value switch
    {
        null => null,
        string text => text,
        IFormattable or IConvertible => null, // numbers, dates, enums: no query strings in those
        _ => value.ToString(),
    };
}

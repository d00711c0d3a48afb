using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Vivim.Tests.Support;

/// <summary>
/// A logger provider that keeps every line a host writes, as any provider would see it: the formatted message, each
/// structured value, the exception and the scopes around it.
/// </summary>
public sealed class CapturedLog : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => log._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var parts = new List<string> { $"{logLevel} {category}: {formatter(state, exception)}" };
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                parts.AddRange(values.Select(v => $"{v.Key}={v.Value}"));
            }

            log._scopes.ForEachScope((scope, p) => p.Add("scope " + scope), parts);
            if (exception is not null)
            {
                parts.Add(exception.ToString());
            }

            log.Lines.Enqueue(string.Join(" | ", parts));
        }
    }
}

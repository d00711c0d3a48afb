using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Vivim.Tests.Libp2p;

/// <summary>Captures log lines so tests can assert that a reason was logged.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => new L(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class L(ListLoggerFactory f, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            f.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
    }
}

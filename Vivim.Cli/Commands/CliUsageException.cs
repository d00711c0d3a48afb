namespace Vivim.Cli.Commands;

/// <summary>The command was used wrongly (a missing or malformed option, environment variable or argument): one line on stderr, exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);

namespace Vivim.Cli.Commands;

/// <summary>A user error: printed as one line on stderr, exit code 1.</summary>
public sealed class CliException(string message) : Exception(message);

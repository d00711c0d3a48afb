namespace Vivim.Cli.Commands;

/// <summary>A failure the user can act on: printed as one line on stderr, exit code 1 (a usage error is <see cref="CliUsageException"/>).</summary>
public sealed class CliException(string message) : Exception(message);

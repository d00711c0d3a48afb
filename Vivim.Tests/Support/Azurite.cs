namespace Vivim.Tests.Support;

/// <summary>
/// The Azure Storage emulator the tests use: <c>VIVIM_TEST_AZURE</c> (set by <c>.ci/run</c>, which starts a throwaway
/// Azurite) is its explicit <c>devstoreaccount1</c> connection string. Each test class works under table and container
/// names of its own (<see cref="NewPrefix"/>), so classes never see each other's data.
/// </summary>
public static class Azurite
{
    public const string Variable = "VIVIM_TEST_AZURE";

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set. Run the tests with 'bash .ci/run', or start an emulator with 'infra/dev/azurite.sh start DIR PORT' and export {Variable} to the connection string it prints.");

    /// <summary>A fresh name prefix, valid for tables (letters and digits, starting with a letter) and blob containers.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];
}

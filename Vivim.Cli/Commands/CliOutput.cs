using Spectre.Console;
using Spectre.Console.Rendering;

namespace Vivim.Cli.Commands;

/// <summary>
/// Output helpers that never read user data as markup: DIDs hold <c>:key:</c>, which Spectre's markup would turn into
/// an emoji, so data goes out as plain <see cref="Text"/>.
/// </summary>
public static class CliOutput
{
    /// <summary>Lines are not wrapped when the output is a file or a pipe (logs, tests), only on a terminal.</summary>
    public static void Configure()
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 4096;
        }
    }

    public static void AddRow(Table table, params string[] cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c)));

    /// <summary>A line: a styled prefix (markup, no data in it) then plain text.</summary>
    public static void Line(string markupPrefix, string text)
    {
        AnsiConsole.Markup(markupPrefix);
        AnsiConsole.Write(new Text(text));
        AnsiConsole.WriteLine();
    }
}

namespace Vivim.Hosting;

/// <summary>Values a caller sent, as a log line echoes them: never longer than a line needs, so logs cannot be grown by request size.</summary>
public static class LogValue
{
    public const int MaxChars = 96;

    /// <summary><paramref name="value"/> cut to <see cref="MaxChars"/> with its full length noted, control characters replaced.</summary>
    public static string Clip(string? value)
    {
        if (value is null)
        {
            return "(none)";
        }

        var shown = value.Length <= MaxChars ? value : value[..MaxChars];
        var clean = string.Create(shown.Length, shown, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                span[i] = char.IsControl(text[i]) ? '?' : text[i];
            }
        });
        return value.Length <= MaxChars ? clean : $"{clean}…({value.Length} chars)";
    }
}

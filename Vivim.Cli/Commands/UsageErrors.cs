using System.CommandLine;
using System.CommandLine.Parsing;

namespace Vivim.Cli.Commands;

/// <summary>
/// A parse that failed, as one line in the user's terms: which command or option is wrong, what it expects and the
/// closest valid name. System.CommandLine's own messages name .NET types and say "Required command was not provided"
/// for a typo, so the line is built from the parse's structure and its text is only the last resort.
/// </summary>
public static class UsageErrors
{
    public static string Describe(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var command = parse.CommandResult.Command;
        var path = CliRunner.PathOf(parse);
        var help = $"(see '{path} --help')";
        if (parse.UnmatchedTokens.Count > 0)
        {
            return $"{path}: {Unmatched(parse, command, parse.UnmatchedTokens[0])} {help}";
        }

        if (command.Subcommands.Count > 0 && command.Action is null)
        {
            return $"{path}: which command? One of {Names(command.Subcommands)}. {help}";
        }

        foreach (var option in command.Options.Where(o => o.Required && parse.GetResult(o) is not { Implicit: false }))
        {
            return $"{path}: {option.Name} is required ({option.Description}). {help}";
        }

        foreach (var error in parse.Errors)
        {
            if (OptionValue(error.SymbolResult) is { } line)
            {
                return $"{path}: {line} {help}";
            }
        }

        return $"{path}: {parse.Errors[0].Message} {help}";
    }

    /// <summary>What a typed option expects, in words; null for text.</summary>
    public static string? Expected(Type valueType)
    {
        ArgumentNullException.ThrowIfNull(valueType);
        var type = Nullable.GetUnderlyingType(valueType) ?? valueType;
        if (type.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()));
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Int16 or TypeCode.Int32 or TypeCode.Int64 or TypeCode.UInt16 or TypeCode.UInt32 or TypeCode.UInt64 or TypeCode.Byte => "an integer",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.Boolean => "true or false",
            _ => null,
        };
    }

    /// <summary>The candidate nearest to <paramref name="typed"/> by edit distance, when it is near enough to be a typo.</summary>
    public static string? Closest(string typed, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(typed);
        ArgumentNullException.ThrowIfNull(candidates);
        var limit = Math.Max(2, typed.Length / 3);
        return candidates
            .Select(c => (Name: c, Distance: EditDistance(typed.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
    }

    private static string Unmatched(ParseResult parse, Command command, string token)
    {
        if (token.StartsWith('-'))
        {
            var options = OptionsOf(parse).SelectMany(o => o.Aliases.Prepend(o.Name)).ToList();
            return $"unknown option '{token}'{DidYouMean(token, options)}; its options are {string.Join(", ", OptionsOf(parse).Where(o => !o.Hidden && o is not System.CommandLine.Help.HelpOption).Select(o => o.Name))}.";
        }

        if (command.Subcommands.Count > 0)
        {
            return $"unknown command '{token}'{DidYouMean(token, command.Subcommands.Select(c => c.Name))}; the commands are {Names(command.Subcommands)}.";
        }

        // An option that takes true/false leaves a value it cannot read unmatched, right after it.
        var tokens = parse.Tokens;
        for (var i = 1; i < tokens.Count; i++)
        {
            if (tokens[i].Value == token && tokens[i - 1].Type == TokenType.Option && FindOption(parse, tokens[i - 1].Value) is { } option && Expected(option.ValueType) is { } expected)
            {
                return $"{option.Name} expects {expected}, not '{token}'.";
            }
        }

        return $"unexpected argument '{token}'; values go after their option (--name value).";
    }

    private static string? OptionValue(SymbolResult? result)
    {
        var option = result as OptionResult ?? (result as ArgumentResult)?.Parent as OptionResult;
        if (option is null || Expected(option.Option.ValueType) is not { } expected)
        {
            return null;
        }

        return option.Tokens switch
        {
            [var value] => $"{option.Option.Name} expects {expected}, not '{value.Value}'.",
            [] => $"{option.Option.Name} needs a value: {expected}.",
            _ => null,
        };
    }

    /// <summary>The options valid here: the command's and the recursive ones of its parents.</summary>
    private static IEnumerable<Option> OptionsOf(ParseResult parse)
    {
        var own = parse.CommandResult.Command.Options;
        var inherited = new List<Option>();
        for (var parent = parse.CommandResult.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            inherited.AddRange(parent.Command.Options.Where(o => o.Recursive));
        }

        return own.Concat(inherited);
    }

    private static Option? FindOption(ParseResult parse, string name) =>
        OptionsOf(parse).FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));

    private static string DidYouMean(string typed, IEnumerable<string> candidates) =>
        Closest(typed, candidates) is { } closest ? $" (did you mean '{closest}'?)" : string.Empty;

    private static string Names(IEnumerable<Command> commands) => string.Join(", ", commands.Where(c => !c.Hidden).Select(c => c.Name));

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}

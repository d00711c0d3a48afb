using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Hosting;

namespace Vivim.Hosting;

/// <summary>
/// The log levels a Vivim host starts with: our own messages at Information, the frameworks' at Warning (Orleans dumps
/// every option at Information and Polly logs two lines per placement call). They sit below every other configuration
/// source, so <c>Logging:LogLevel:*</c> in appsettings, the environment or the command line still overrides them.
/// Every logger masks secret query values (<see cref="QuerySecrets"/>).
/// </summary>
public static class HostLoggingDefaults
{
    public static readonly IReadOnlyDictionary<string, string?> Levels = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Vivim"] = "Information",
        ["Logging:LogLevel:Orleans"] = "Warning",
        ["Logging:LogLevel:Polly"] = "Warning",
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting"] = "Warning",

        // Orleans 10's watchdog starts its platform thread before it stamps the participant check's start, so the first
        // tick measures from timestamp 0 and warns "Participant check thread has not completed for <time since boot>"
        // at every start (Watchdog.Start in Orleans.Runtime). The stalls it finds later are also recorded as local
        // health events that lower the silo's membership score, so Error here loses no signal the cluster acts on.
        ["Logging:LogLevel:Orleans.Runtime.Watchdog"] = "Error",
    };

    /// <summary>Puts <see cref="Levels"/> first among the configuration sources (lowest precedence).</summary>
    public static IHostApplicationBuilder AddVivimLoggingDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Levels });
        RedactingLoggerFactory.Install(builder.Services); // secret query values never reach a log, whatever the levels
        return builder;
    }
}

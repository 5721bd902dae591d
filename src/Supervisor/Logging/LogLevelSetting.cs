using Serilog.Events;

namespace Supervisor.Host.Logging;

/// <summary>
/// <c>SUPERVISOR_LOG_LEVEL</c>: the lowest level the host writes, by Serilog's level names (any case), Information when
/// unset. It sets Akka's own <c>akka.loglevel</c> with it, so that Akka's lines below it are not even made.
/// </summary>
public static class LogLevelSetting
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "SUPERVISOR_LOG_LEVEL";

    /// <summary>The level <paramref name="value"/> names (Information when empty), or null with <paramref name="error"/> saying why.</summary>
    public static LogEventLevel? Parse(string? value, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(value)) return LogEventLevel.Information;
        foreach (var level in Enum.GetValues<LogEventLevel>())
            if (string.Equals(level.ToString(), value.Trim(), StringComparison.OrdinalIgnoreCase)) return level;
        error = $"{Variable} must be one of {string.Join(", ", Enum.GetNames<LogEventLevel>())}, not '{value.Trim()}'";
        return null;
    }

    /// <summary>Akka's <c>akka.loglevel</c> for <paramref name="level"/>: Akka has no Verbose nor Fatal of its own.</summary>
    public static string AkkaLevelOf(LogEventLevel level) => level switch
    {
        <= LogEventLevel.Debug => "DEBUG",
        LogEventLevel.Information => "INFO",
        LogEventLevel.Warning => "WARNING",
        _ => "ERROR",
    };
}

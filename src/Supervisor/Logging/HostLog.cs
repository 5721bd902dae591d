using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;

namespace Supervisor.Host.Logging;

/// <summary>
/// The host's log: lines of text on the console, and compact JSON (Serilog CLEF) in a log file where one is set, both
/// written by <see cref="GroupedTextSink"/>'s own writer, every string property escaped by
/// <see cref="ControlCharacterEscaper"/>.
/// </summary>
public static class HostLog
{
    /// <summary>A console line: time, level, the rendered message, an exception's text below it.</summary>
    public const string ConsoleFormat = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";

    /// <summary>The configuration writing at <paramref name="level"/> and above to <paramref name="console"/> and, if given, <paramref name="jsonLog"/>.</summary>
    public static LoggerConfiguration Configure(LogEventLevel level, Stream console, Stream? jsonLog)
    {
        var logging = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft.AspNetCore", level > LogEventLevel.Warning ? level : LogEventLevel.Warning)
            // Off entirely (above Fatal): ASP.NET Core's hosting writes nothing here at Warning, but while its logger is on at any
            // level it opens a log scope and an Activity for every request (and HttpClient then sends a traceparent to the PDS).
            .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Fatal + 1)
            .Enrich.FromLogContext()
            .Enrich.With(new ControlCharacterEscaper())
            .WriteTo.Sink(new GroupedTextSink(new MessageTemplateTextFormatter(ConsoleFormat), console, "standard output"));
        if (jsonLog is not null) logging.WriteTo.Sink(new GroupedTextSink(new CompactJsonFormatter(), jsonLog, "the log file"));
        return logging;
    }
}

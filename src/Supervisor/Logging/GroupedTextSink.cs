using System.Text;
using System.Threading.Channels;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Parsing;

namespace Supervisor.Host.Logging;

/// <summary>
/// Writes the log to a stream (standard output, the JSON log file) from one writer of its own, flushing whenever
/// nothing more is waiting: a quiet host writes each line at once, a busy one the lines of <see cref="BusyPause"/> per write. The request
/// threads only queue the event; they neither take a lock around the output nor make a system call per line (one line
/// a request cost the host a write of its own before: bench/README.md, "Request overhead").
/// <para>
/// Bounded: past <see cref="QueueLimit"/> waiting lines, new ones are dropped and counted, and the count is written
/// once the writer has caught up. Disposing (at <c>Log.CloseAndFlush</c>) writes what is queued and closes the stream.
/// </para>
/// </summary>
public sealed class GroupedTextSink : ILogEventSink, IDisposable
{
    /// <summary>The most lines that wait for the writer.</summary>
    public const int QueueLimit = 100_000;

    /// <summary>How long a busy writer lets lines gather before its next write.</summary>
    public static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(20);

    private readonly ITextFormatter _formatter;
    private readonly TextWriter _output;
    private readonly string _name;
    private readonly Channel<LogEvent> _queue = Channel.CreateBounded<LogEvent>(
        new BoundedChannelOptions(QueueLimit) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true }); // TryWrite refuses when full
    private readonly Task _writer;
    private long _dropped;

    /// <summary>The line about dropped lines, written in the output's own format (a JSON line in the JSON log file).</summary>
    private static readonly MessageTemplate DroppedTemplate = new MessageTemplateParser().Parse("{Dropped} log lines dropped: {Output:l} did not keep up");

    /// <summary>A sink writing <paramref name="formatter"/>'s text to <paramref name="output"/>, called <paramref name="name"/> in its own line about dropped lines.</summary>
    public GroupedTextSink(ITextFormatter formatter, Stream output, string name)
    {
        _formatter = formatter;
        _name = name;
        _output = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
        _writer = Task.Run(WriteAsync);
    }

    /// <inheritdoc />
    public void Emit(LogEvent logEvent)
    {
        if (!_queue.Writer.TryWrite(logEvent)) Interlocked.Increment(ref _dropped);
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var lines = 0;
            for (; reader.TryRead(out var logEvent); lines++) _formatter.Format(logEvent, _output);
            if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
                _formatter.Format(new LogEvent(DateTimeOffset.Now, LogEventLevel.Warning, null, DroppedTemplate,
                    [new LogEventProperty("Dropped", new ScalarValue(dropped)), new LogEventProperty("Output", new ScalarValue(_name))]), _output);
            _output.Flush();
            // Busy (more than one line came together): the lines of the next BusyPause go in one write, instead of the writer
            // waking for every few.
            if (lines > 1 && !reader.Completion.IsCompleted) await Task.Delay(BusyPause).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        // (An output stuck for 5 s is left as it is: the writer still holds it.)
        if (_writer.Wait(TimeSpan.FromSeconds(5))) _output.Dispose();
    }
}

using System.Text;
using Serilog.Events;
using Serilog.Formatting.Display;
using Serilog.Parsing;
using Supervisor.Host.Logging;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The host's log (standard output, the JSON file): lines queued by request threads, written in order by one writer, never unbounded.</summary>
public sealed class GroupedTextSinkSpec
{
    private static readonly MessageTemplateTextFormatter Lines = new("{Message}{NewLine}");

    private static LogEvent Line(int n) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse($"line {n}"), []);

    [Fact]
    public void A_quiet_host_writes_each_line_at_once_without_waiting_for_more()
    {
        var output = new GatedStream();
        using var sink = new GroupedTextSink(Lines, output, "standard output");
        // The median line's wait is the writer's, not the machine's: one that let lines gather a BusyPause (20 ms) before
        // writing them would wait at least that for each, in every one of three rounds; a machine busy with other specs
        // may slow one round.
        var medians = new List<TimeSpan>();
        for (var round = 0; round < 3 && (medians.Count == 0 || medians[^1] >= GroupedTextSink.BusyPause / 2); round++)
        {
            var waited = new List<TimeSpan>();
            for (var n = 0; n < 21; n++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                sink.Emit(Line(round * 100 + n));
                Assert.True(output.Written.Wait(TimeSpan.FromSeconds(5)), "a line not written within 5 s");
                waited.Add(clock.Elapsed);
                Thread.Sleep(5);
            }
            medians.Add(waited.Order().ElementAt(waited.Count / 2));
        }
        Assert.True(medians[^1] < GroupedTextSink.BusyPause / 2,
            $"a quiet line waited {string.Join(", ", medians.Select(m => $"{m.TotalMilliseconds:0.0} ms"))} (medians of 21, by round) before its write");
        Assert.Equal(string.Concat(Enumerable.Range(0, medians.Count).SelectMany(r => Enumerable.Range(0, 21).Select(n => $"line {r * 100 + n}\n"))), output.Text);
    }

    [Fact]
    public async Task A_busy_host_writes_the_lines_of_many_requests_in_one_write()
    {
        var output = new GatedStream();
        using (var sink = new GroupedTextSink(Lines, output, "standard output"))
        {
            // A line every 0.2 ms or so for 400 ms, as a host answering thousands of requests a second writes them.
            var started = System.Diagnostics.Stopwatch.StartNew();
            for (var n = 0; started.ElapsedMilliseconds < 400; n++)
            {
                sink.Emit(Line(n));
                if (n % 5 == 4) Thread.Sleep(1);
            }
        }
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        // One write a BusyPause (20 ms): about 20 in 400 ms; a writer that wrote whenever it found lines waiting made one
        // for every few lines (hundreds here).
        Assert.True(output.Writes <= 40, $"{output.Writes} writes for {lines} lines");
    }

    [Fact]
    public void Lines_from_many_threads_are_all_written_each_whole_and_in_each_threads_order()
    {
        var output = new GatedStream();
        using (var sink = new GroupedTextSink(Lines, output, "standard output"))
            Parallel.For(0, 4, t =>
            {
                for (var i = 0; i < 2_000; i++) sink.Emit(Line(t * 10_000 + i));
            });
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(8_000, lines.Length);
        for (var t = 0; t < 4; t++)
        {
            var own = lines.Select(l => int.Parse(l["line ".Length..])).Where(n => n / 10_000 == t).ToList();
            Assert.Equal(Enumerable.Range(t * 10_000, 2_000), own);
        }
    }

    [Fact]
    public async Task Past_its_limit_while_the_output_is_stuck_lines_are_dropped_counted_and_the_count_is_written()
    {
        var output = new GatedStream { Stuck = true };
        using (var sink = new GroupedTextSink(Lines, output, "standard output"))
        {
            sink.Emit(Line(0));
            await UntilAsync(() => output.Writing); // the writer holds line 0, stuck
            for (var i = 1; i <= GroupedTextSink.QueueLimit + 10; i++) sink.Emit(Line(i));
            output.Release();
        }
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { "line 0", "line 1" }, lines[..2]);
        Assert.Equal(GroupedTextSink.QueueLimit + 2, lines.Length);
        Assert.EndsWith("10 log lines dropped: standard output did not keep up", lines[^1]);
        Assert.Equal($"line {GroupedTextSink.QueueLimit}", lines[^2]);
    }

    [Fact]
    public async Task In_the_JSON_log_the_line_about_dropped_lines_is_a_JSON_line_too()
    {
        var output = new GatedStream { Stuck = true };
        using (var sink = new GroupedTextSink(new Serilog.Formatting.Compact.CompactJsonFormatter(), output, "the log file"))
        {
            sink.Emit(Line(0));
            await UntilAsync(() => output.Writing);
            for (var i = 1; i <= GroupedTextSink.QueueLimit + 3; i++) sink.Emit(Line(i));
            output.Release();
        }
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var last = System.Text.Json.JsonDocument.Parse(lines[^1]).RootElement;
        Assert.Equal(("Warning", 3, "the log file"), (last.GetProperty("@l").GetString(), last.GetProperty("Dropped").GetInt32(), last.GetProperty("Output").GetString()));
        Assert.All(lines, l => System.Text.Json.JsonDocument.Parse(l).Dispose());
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 10)
        {
            Assert.True(waited < 5_000, "not within 5 s");
            await Task.Delay(10);
        }
    }

    /// <summary>Standard output in memory; while <see cref="Stuck"/>, a write waits until <see cref="Release"/>.</summary>
    private sealed class GatedStream : Stream
    {
        private readonly MemoryStream _written = new();
        private readonly ManualResetEventSlim _open = new(true);

        public bool Stuck
        {
            init { if (value) _open.Reset(); }
        }

        public bool Writing { get; private set; }

        public string Text
        {
            get
            {
                lock (_written) return Encoding.UTF8.GetString(_written.ToArray());
            }
        }

        public void Release() => _open.Set();

        private int _writes;

        /// <summary>How many writes reached the stream.</summary>
        public int Writes => Volatile.Read(ref _writes);

        /// <summary>Released once for each write, after its bytes are in.</summary>
        public SemaphoreSlim Written { get; } = new(0);

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writing = true;
            _open.Wait();
            lock (_written) _written.Write(buffer, offset, count);
            Interlocked.Increment(ref _writes);
            Written.Release();
        }

        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

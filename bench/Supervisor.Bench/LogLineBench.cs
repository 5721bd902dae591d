using System.Diagnostics;
using Serilog.Events;
using Supervisor.Host.Logging;
using Supervisor.Host.Telemetry;

namespace Supervisor.Bench;

/// <summary>
/// What one request's log line costs the host: <see cref="RequestTelemetry"/>'s line written through the host's own log
/// (<see cref="HostLog"/>: its enrichers, <see cref="GroupedTextSink"/>'s writers, the console's text and the log file's
/// JSON) into streams that only count the bytes. CPU (the writers' threads included) and bytes allocated a line.
/// </summary>
public static class LogLineBench
{
    /// <summary>Lines a burst; the writers are let catch up after each, so that none is dropped at the queue's limit.</summary>
    private const int Burst = 10_000;

    public static async Task RunAsync(int lines, int rounds)
    {
        Console.WriteLine($"request log line: {lines:N0} lines a round, {rounds} round(s), the host's log into streams that count the bytes");
        foreach (var withFile in new[] { false, true })
            for (var round = 1; round <= rounds; round++)
                Console.WriteLine(await MeasureAsync(lines, withFile));
    }

    private static async Task<string> MeasureAsync(int lines, bool withFile)
    {
        var console = new CountingStream();
        var json = withFile ? new CountingStream() : null;
        var logger = HostLog.Configure(LogEventLevel.Information, console, json).CreateLogger();
        var log = logger.ForContext<RequestTelemetry>();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < lines; i++)
        {
            log.Write(LogEventLevel.Information, RequestTelemetry.LineTemplate, "GET", "/accounts/{did}/xrpc/{nsid}", 200, 1.2 + i % 13 * 0.1);
            if (i % Burst == Burst - 1) await Task.Delay(GroupedTextSink.BusyPause * 2);
        }
        logger.Dispose(); // the writers write what is queued
        process.Refresh();
        var cpuUs = (process.TotalProcessorTime - cpu).TotalMilliseconds * 1000 / lines;
        var allocatedKb = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1024.0 / lines;
        return $"{(withFile ? "console + JSON log file" : "console only"),-24} cpu {cpuUs,5:0.00} us a line   allocated {allocatedKb:0.00} KB a line   "
            + $"bytes a line: console {console.Written / (double)lines:0}" + (json is null ? "" : $", JSON {json.Written / (double)lines:0}");
    }

    /// <summary>A stream that keeps nothing and counts what is written to it.</summary>
    private sealed class CountingStream : Stream
    {
        public long Written { get; private set; }

        public override void Write(byte[] buffer, int offset, int count) => Written += count;

        public override void Write(ReadOnlySpan<byte> buffer) => Written += buffer.Length;

        public override void Flush() { }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

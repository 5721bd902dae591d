using System.Diagnostics;

namespace Supervisor.Bench;

/// <summary>
/// <see cref="BenchYarp"/> run as a process of its own (this bench executable with <c>yarp-serve</c>), as the
/// supervisor's host is: the fair yardstick, since a proxy in the bench process shares its threads with the client
/// and the server and crosses no process boundary. The bearer goes by environment, never on the command line.
/// </summary>
public sealed class BenchYarpProcess : IAsyncDisposable
{
    private readonly Process _process;

    private BenchYarpProcess(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    /// <summary>The proxy's base address.</summary>
    public string Url { get; }

    /// <summary>The proxy's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>The CPU time the proxy process has used.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The proxy process's runtime counts so far.</summary>
    public async Task<ProxyRuntime> RuntimeAsync()
    {
        using var http = new HttpClient();
        var counts = (await http.GetStringAsync(Url + "/bench/runtime")).Split(' ')
            .Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new ProxyRuntime(counts[0], counts[1], counts[2]);
    }

    /// <summary>
    /// Starts the proxy process and waits for the address it listens on; with <paramref name="callerToken"/>, one that does
    /// the host's per-request work (<see cref="BenchHostWork"/>), whose log lines are read and dropped as the host's are.
    /// </summary>
    public static async Task<BenchYarpProcess> StartAsync(string destination, string accessToken, string? callerToken = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { typeof(BenchYarpProcess).Assembly.Location, "yarp-serve", destination },
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            Environment = { ["BENCH_YARP_BEARER"] = accessToken },
        };
        if (callerToken is not null) info.Environment["BENCH_YARP_CALLER"] = callerToken;
        // Which parts of the host's work (BenchHostWork.Parts), from SUPERVISOR_BENCH_YARP_WORK.
        if (Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_YARP_WORK") is { Length: > 0 } parts) info.Environment["BENCH_YARP_WORK"] = parts;
        var process = Process.Start(info)!;
        string? line;
        do line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        while (line is not null && !line.StartsWith("url=", StringComparison.Ordinal));
        if (line is null) throw new InvalidOperationException("the YARP process did not start");
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        return new BenchYarpProcess(process, line["url=".Length..]);
    }

    /// <summary>The child side: serves until its standard input closes.</summary>
    public static async Task ServeAsync(string destination)
    {
        await using var proxy = await BenchYarp.StartAsync(destination, Environment.GetEnvironmentVariable("BENCH_YARP_BEARER") ?? "",
            Environment.GetEnvironmentVariable("BENCH_YARP_CALLER"));
        Console.Out.Write("url=" + proxy.Url + "\n");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(10_000)) _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace Supervisor.Bench;

/// <summary>
/// The supervisor host as a real process (the Supervisor.dll built beside the benchmarks) on a free loopback
/// port, with its own data folder and a random admin token (never printed); its output is read and dropped.
/// </summary>
public sealed class BenchHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _data;

    private BenchHost(Process process, string data, int port, string adminToken, string operatorPassword)
    {
        _process = process;
        _data = data;
        Url = $"http://127.0.0.1:{port}";
        AdminToken = adminToken;
        OperatorPassword = operatorPassword;
        Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    }

    /// <summary>The host's base address.</summary>
    public string Url { get; }

    /// <summary>The admin token (a bearer for the HTTP API).</summary>
    public string AdminToken { get; }

    /// <summary>The read-only operator password of the status pages (Basic, any user name).</summary>
    public string OperatorPassword { get; }

    /// <summary>The host's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>The CPU time the host process has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// A counter of the runtime's the host exports at <c>/metrics</c> (<c>dotnet_gc_heap_total_allocated_bytes_total</c>,
    /// <c>dotnet_thread_pool_work_item_count_total</c>, <c>dotnet_gc_pause_time_seconds_total</c>), as it is now; the exporter caches an answer for 300 ms, so read
    /// it on a host that has been quiet that long.
    /// </summary>
    private async Task<double> RuntimeCounterAsync(string series)
    {
        var text = await Http.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + "{", StringComparison.Ordinal) || l.StartsWith(series + " ", StringComparison.Ordinal));
        // NaN from a build that does not export it (SUPERVISOR_BENCH_HOST_DIR: an older one).
        return line is null ? double.NaN : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The host's runtime counts so far, from its <c>/metrics</c> (NaN from a build without them).</summary>
    public async Task<ProxyRuntime> RuntimeAsync() =>
        new(await RuntimeCounterAsync("dotnet_gc_heap_total_allocated_bytes_total"), await RuntimeCounterAsync("dotnet_thread_pool_work_item_count_total"),
            await RuntimeCounterAsync("dotnet_gc_pause_time_seconds_total"));

    /// <summary>A client with the admin token, many connections allowed.</summary>
    public HttpClient Http { get; }

    /// <summary>
    /// Starts the host with <paramref name="environment"/> added and waits until /healthz answers; a
    /// SUPERVISOR_ADMIN_TOKEN there (the nodes of a cluster share one) is the host's admin token.
    /// </summary>
    public static async Task<BenchHost> StartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        var data = Path.Combine(Path.GetTempPath(), "supervisor-bench-host-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var port = FreePort();
        var token = environment?.GetValueOrDefault("SUPERVISOR_ADMIN_TOKEN") ?? Guid.NewGuid().ToString("N");
        var operatorPassword = Guid.NewGuid().ToString("N");
        var info = new ProcessStartInfo("dotnet")
        {
            // SUPERVISOR_BENCH_HOST_DIR: another build of the host (its output folder), to compare two builds on one machine.
            ArgumentList = { Path.Combine(Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_HOST_DIR") is { Length: > 0 } dir ? dir : AppContext.BaseDirectory, "Supervisor.dll"), "--urls", $"http://127.0.0.1:{port}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = data,
            Environment =
            {
                ["SUPERVISOR_DATA_DIR"] = data, ["SUPERVISOR_ADMIN_TOKEN"] = token,
                ["SUPERVISOR_OPERATOR_PASSWORD"] = operatorPassword,
                // The bench PDS has no PLC directory: identities are believed here (their verification is not what is measured).
                ["SUPERVISOR_HOCON"] = "supervisor.identity.verify = off\nsupervisor.outbound.allow-networks = [\"127.0.0.0/8\", \"::1/128\"]\nsupervisor.accounts.min-refresh-interval = 1s\n" +
                    // The load of `overhead W` goes to one account: no cap on its requests in flight.
                    "supervisor.proxy.max-in-flight = 1000000",
            },
        };
        // SUPERVISOR_BENCH_HOST_LOG: the host's JSON log (one line a request with its route and time in the host) goes there;
        // a folder (ending in /) holds one file a host (host-PORT.clef), for the benchmarks that start several.
        if (Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_HOST_LOG") is { Length: > 0 } log)
            info.Environment["SUPERVISOR_LOG_FILE"] = log.EndsWith('/') ? Path.Combine(Directory.CreateDirectory(log).FullName, $"host-{port}.clef") : log;
        // The caller's HOCON comes after the defaults above (a later key wins), so that it keeps them (the loopback PDS above all).
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            info.Environment[name] = name == "SUPERVISOR_HOCON" ? info.Environment[name] + "\n" + value : value;
        var process = Process.Start(info)!;
        // The host's console is drained as bytes, never decoded into lines: the bench process is the load's client and shares the
        // machine's cores with the host, so reading a line a request there would count against the host's throughput.
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        var host = new BenchHost(process, data, port, token, operatorPassword);
        for (var i = 0; ; i++)
        {
            try
            {
                if ((await host.Http.GetAsync("/healthz")).IsSuccessStatusCode) return host;
            }
            catch (HttpRequestException) when (i < 1200 && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Logs <paramref name="identifier"/> in at <paramref name="service"/> (POST /accounts: createSession there); the account's DID.</summary>
    public async Task<string> LoginAsync(string service, string identifier)
    {
        using var answer = await Http.PostAsJsonAsync("/accounts", new { service, identifier, password = "bench-password" });
        if (answer.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"login answered {(int)answer.StatusCode}");
        var status = await answer.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
        return status?["did"]?.GetValue<string>() ?? throw new InvalidOperationException("login answered no did");
    }

    /// <summary>SIGKILL: the process dies at once, wherever it is.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: a graceful stop; waits for the exit (at most <paramref name="timeout"/>) and returns its code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (_process.HasExited) return _process.ExitCode;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await KillAsync();
        _process.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // left for the OS temp cleanup
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

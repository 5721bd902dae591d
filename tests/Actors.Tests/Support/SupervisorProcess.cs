using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// The supervisor host run as a real process (the Supervisor.dll built beside the tests), on a free
/// loopback port, with its own data folder and admin token. Its console output is kept for inspection.
/// </summary>
public sealed class SupervisorProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Dictionary<string, string> _environment;
    private Process? _process;

    public SupervisorProcess(string dataDir, IDictionary<string, string>? environment = null)
    {
        DataDir = dataDir;
        Port = LoopbackPort.Free();
        AdminToken = "admin-" + Guid.NewGuid().ToString("N");
        OperatorPassword = "operator-" + Guid.NewGuid().ToString("N");
        _environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["SUPERVISOR_DATA_DIR"] = dataDir,
            ["SUPERVISOR_ADMIN_TOKEN"] = AdminToken,
            ["SUPERVISOR_OPERATOR_PASSWORD"] = OperatorPassword,
        };
        // Every host also logs compact JSON; scripts/test collects these files and scans them all for secrets.
        var logs = Environment.GetEnvironmentVariable("SUPERVISOR_TEST_LOG_DIR") is { Length: > 0 } folder ? folder : dataDir;
        Directory.CreateDirectory(logs);
        LogFile = Path.Combine(logs, $"host-{Guid.NewGuid():N}.clef");
        _environment.TryAdd("SUPERVISOR_LOG_FILE", LogFile);
        TestSecrets.Register("admin-token", AdminToken);
        TestSecrets.Register("operator-password", OperatorPassword);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
    }

    public string DataDir { get; }

    /// <summary>The host's compact JSON log (Serilog CLEF).</summary>
    public string LogFile { get; }

    /// <summary>The lines of <see cref="LogFile"/> written so far, each a JSON object (read while the host writes on).</summary>
    public List<System.Text.Json.JsonElement> LogLines()
    {
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<System.Text.Json.JsonElement>();
        while (reader.ReadLine() is { } text)
            if (text.StartsWith('{') && text.EndsWith('}')) lines.Add(System.Text.Json.JsonDocument.Parse(text).RootElement.Clone());
        return lines;
    }

    public int Port { get; }

    /// <summary>Where the host listens (its <c>--urls</c>): <see cref="Port"/> on 127.0.0.1 unless a spec says otherwise.</summary>
    public string ListenUrls { get; set; } = "";

    public string AdminToken { get; }

    /// <summary>The status page's read-only password (HTTP Basic).</summary>
    public string OperatorPassword { get; }

    public HttpClient Http { get; }

    /// <summary>Everything the process wrote to stdout and stderr, over all its runs.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    private string? _identity;

    /// <summary>The host verifies identities against this PLC directory and handle resolver (from the next start on).</summary>
    public SupervisorProcess VerifyingIdentities(string plcDirectory, string handleResolver)
    {
        _identity = $"supervisor.identity {{ verify = on, plc-directory = \"{plcDirectory}\", handle-resolver = \"{handleResolver}\", cache-ttl = 0s }}";
        return this;
    }

    /// <summary>The host verifies identities at the real PDS of the suite (its PLC directory and its resolveHandle).</summary>
    public SupervisorProcess VerifyingIdentitiesAtTheRealPds() =>
        VerifyingIdentities(Environment.GetEnvironmentVariable("PDS_PLC_URL") ?? throw new InvalidOperationException("PDS_PLC_URL is not set: run the suite with scripts/test"),
            Environment.GetEnvironmentVariable("PDS_URL")!);

    /// <summary>Sets (or with null removes) an environment variable for the next start.</summary>
    public void SetEnvironment(string name, string? value)
    {
        if (value is null) _environment.Remove(name);
        else _environment[name] = value;
    }

    /// <summary>Waits for the process to exit by itself; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>Starts the process and waits until /healthz answers.</summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Supervisor.dll"), "--urls", ListenUrls.Length > 0 ? ListenUrls : $"http://127.0.0.1:{Port}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = DataDir,
        };
        foreach (var (key, value) in _environment) info.Environment[key] = value;
        // Identities are verified only where a spec says where the PLC directory and a handle resolver are. The servers
        // of the specs listen on loopback, which the host refuses by default (a spec may refuse it again in its own HOCON).
        // The test PDS hands out 10-second tokens, refreshed ahead of their expiry (the default floor is a minute).
        info.Environment["SUPERVISOR_HOCON"] = "supervisor.outbound.allow-networks = [\"127.0.0.0/8\", \"::1/128\"]\nsupervisor.accounts.min-refresh-interval = 1s\n"
            + (_identity ?? "supervisor.identity.verify = off") + "\n" + _environment.GetValueOrDefault("SUPERVISOR_HOCON");
        RegisterTokenKeys();
        var process = ChildProcesses.OfTestRun.Start(info);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < until)
        {
            if (process.HasExited)
            {
                // Its last lines may still be on their way: waiting for the exit also waits for the end of its output.
                await process.WaitForExitAsync();
                RegisterTokenKeys();
                throw new InvalidOperationException($"the supervisor exited with {process.ExitCode}:\n{Output}");
            }
            try
            {
                using var answer = await Http.GetAsync("/healthz");
                if (answer.StatusCode == HttpStatusCode.OK)
                {
                    RegisterTokenKeys();
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the supervisor did not answer /healthz within 60 s:\n{Output}");
    }

    /// <summary>Runs the executable's CLI against this host (its <c>--host</c> and admin token given), feeding <paramref name="stdin"/>.</summary>
    public Task<(int ExitCode, string Output, string Error)> RunCliAsync(string stdin, params string[] args) =>
        RunCliAsync(DataDir, new Dictionary<string, string?> { ["SUPERVISOR_ADMIN_TOKEN"] = AdminToken }, stdin,
            args.Contains("--host") ? args : [.. args, "--host", Http.BaseAddress!.ToString()]);

    /// <summary>
    /// Runs the executable's CLI as it is given: in <paramref name="workingDirectory"/>, with <paramref name="environment"/>
    /// set over the test run's (a null value removes the variable), feeding <paramref name="stdin"/>.
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunCliAsync(
        string workingDirectory, IReadOnlyDictionary<string, string?> environment, string stdin, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Supervisor.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var (name, value) in environment)
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    /// <summary>SIGKILL: the process dies at once, wherever it is.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process) return;
        process.Kill(entireProcessTree: false);
        await process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP (<paramref name="pause"/>) or SIGCONT: the process freezes where it is, or goes on.</summary>
    public void Pause(bool pause)
    {
        if (_process is not { HasExited: false } process) return;
        Process.Start("kill", [pause ? "-STOP" : "-CONT", process.Id.ToString()])!.WaitForExit();
    }

    /// <summary>The id of the running process (of its last run), or null before the first start.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process is null || _process.HasExited;

    /// <summary>The exit code of the last run, or null while it runs (or before the first start).</summary>
    public int? ExitCode => _process is { HasExited: true } process ? process.ExitCode : null;

    /// <summary>SIGTERM: a graceful stop; returns the exit code (waiting at most <paramref name="within"/>, 30 s by default).</summary>
    public async Task<int> TerminateAsync(TimeSpan? within = null)
    {
        if (_process is not { HasExited: false } process) return _process?.ExitCode ?? 0;
        Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        RegisterTokenKeys();
        Http.Dispose();
    }

    /// <summary>
    /// Hands the token keys this host uses (SUPERVISOR_KEY, SUPERVISOR_OLD_KEYS, or the data folder's generated
    /// token-keys file) to the log scan of scripts/test, which looks for each in every log.
    /// </summary>
    private void RegisterTokenKeys()
    {
        if (_environment.TryGetValue("SUPERVISOR_KEY", out var key)) TestSecrets.Register("token-key", key.Trim());
        if (_environment.TryGetValue("SUPERVISOR_OLD_KEYS", out var old))
            foreach (var k in old.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) TestSecrets.Register("token-key", k);
        var file = Path.Combine(DataDir, "token-keys");
        try
        {
            if (File.Exists(file))
                foreach (var line in File.ReadAllLines(file)) TestSecrets.Register("token-key", line.Trim());
        }
        catch (IOException)
        {
            // being written at this moment: read again at the next start or at the end
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}

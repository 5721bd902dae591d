using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// One run of tests/clients/agent-flow.mjs (the real @atproto/api) against the host as a process, for an account
/// on the real PDS that the host supervises and an account key issued for it. Run once for all facts of
/// <see cref="AtprotoApiClientSpec"/>; the script's JSON line, its output and the uploaded file are kept.
/// </summary>
public sealed class AgentFlowRun : IAsyncLifetime
{
    private TestJournal? _journal;

    /// <summary>The real PDS (PDS_URL).</summary>
    public RealPdsServer Pds { get; } = new();

    /// <summary>The host process.</summary>
    public SupervisorProcess Host { get; private set; } = null!;

    /// <summary>The account on the real PDS.</summary>
    public RealAccount Account { get; private set; } = null!;

    /// <summary>The account key the client logged in with (never to be written anywhere).</summary>
    public string Key { get; private set; } = "";

    /// <summary>The URL the client was given: the host's root.</summary>
    public string SupervisorUrl => $"http://127.0.0.1:{Host.Port}";

    /// <summary>The bytes of the PNG file the client uploaded.</summary>
    public byte[] FileBytes { get; private set; } = [];

    /// <summary>The script's JSON line.</summary>
    public JsonElement Result { get; private set; }

    /// <summary>Everything the script wrote to stdout.</summary>
    public string Stdout { get; private set; } = "";

    /// <summary>Everything the script wrote to stderr.</summary>
    public string Stderr { get; private set; } = "";

    /// <summary>The repository's root (the folder of Supervisor.sln), found from the test binaries upwards.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Supervisor.sln"))) return dir.FullName;
            throw new InvalidOperationException($"no Supervisor.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>tests/clients.</summary>
    public static string ClientsFolder => Path.Combine(RepositoryRoot, "tests", "clients");

    public async Task InitializeAsync()
    {
        EnsureInstalled();
        _journal = new TestJournal();
        var environment = _journal.HostEnvironment();
        environment["SUPERVISOR_HOCON"] = """
            supervisor.accounts { backoff-min = 200ms, backoff-max = 2s, request-timeout = 30s }
            supervisor.proxy { upload-limit = 5MiB, session-access-lifetime = 2h, session-refresh-lifetime = 90d }
            """;
        Host = new SupervisorProcess(_journal.Folder, environment);
        await Host.StartAsync();

        Account = await Pds.CreateAccountAsync("api");
        using (var added = await Host.Http.PostAsJsonAsync("/accounts", new { identifier = Account.Handle, password = Account.Password, service = Pds.Url }))
            if (!added.IsSuccessStatusCode) throw new InvalidOperationException($"POST /accounts: {(int)added.StatusCode} {await added.Content.ReadAsStringAsync()}");
        using (var issued = await Host.Http.PostAsJsonAsync("/keys", new { account = Account.Handle, name = "atproto-api", allow = new[] { "com.atproto.server.getServiceAuth" } }))
        {
            if (issued.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"POST /keys: {(int)issued.StatusCode}");
            Key = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        }

        FileBytes = TestPng.Make(64, 48, 600_000 + Random.Shared.Next(0, 200_000), Random.Shared.Next());
        var file = Path.Combine(_journal.Folder, "image.png");
        await File.WriteAllBytesAsync(file, FileBytes);
        await RunAsync(file);
    }

    private async Task RunAsync(string file)
    {
        var info = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(ClientsFolder, "agent-flow.mjs"), SupervisorUrl, Account.Handle, file },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ClientsFolder,
        };
        info.Environment["SUPERVISOR_ACCOUNT_KEY"] = Key;
        info.Environment["PDS_URL"] = Pds.Url;
        using var node = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            try
            {
                await node.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                node.Kill(entireProcessTree: true);
                throw new TimeoutException("agent-flow.mjs did not finish within 3 minutes");
            }
        }
        Stdout = await stdout;
        Stderr = await stderr;
        if (node.ExitCode != 0)
            throw new InvalidOperationException($"agent-flow.mjs exited with {node.ExitCode}:\n{Scrubbed(Stderr)}");
        var line = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? throw new InvalidOperationException("agent-flow.mjs printed nothing on stdout");
        Result = JsonDocument.Parse(line).RootElement.Clone();
    }

    /// <summary>Fails with the way out when tests/clients has not been installed (or not from the current lock).</summary>
    private static void EnsureInstalled()
    {
        const string hint = "run scripts/clients (npm ci in tests/clients) before the client specs";
        var installed = Path.Combine(ClientsFolder, "node_modules", "@atproto", "api", "package.json");
        if (!File.Exists(installed)) throw new InvalidOperationException($"@atproto/api is not installed in {ClientsFolder}: {hint}");
        using var lockFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(ClientsFolder, "package-lock.json")));
        var locked = lockFile.RootElement.GetProperty("packages").GetProperty("node_modules/@atproto/api").GetProperty("version").GetString();
        using var package = JsonDocument.Parse(File.ReadAllText(installed));
        var version = package.RootElement.GetProperty("version").GetString();
        if (version != locked) throw new InvalidOperationException($"@atproto/api {version} is installed but the lock pins {locked}: {hint}");
    }

    /// <summary>Text with the key cut out, for failure messages.</summary>
    public string Scrubbed(string text) => Key.Length > 0 ? text.Replace(Key, "[key]") : text;

    public async Task DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
        _journal?.Dispose();
        Pds.Dispose();
    }
}

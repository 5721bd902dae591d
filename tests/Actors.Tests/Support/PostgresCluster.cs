using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL server of one test (initdb into a temporary folder, loopback only, trust auth),
/// run with Debian's binaries as the postgres user, so that a test can stop and start it without touching
/// the server the other specs share. Needs root (as scripts/test runs) and the postgresql package.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;

    private PostgresCluster(string bin, string folder, int port)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Timeout=5;Command Timeout=10";

    public static async Task<PostgresCluster> CreateAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(Directory.Exists).OrderBy(d => d).LastOrDefault()
            : null;
        if (bin is null) throw new InvalidOperationException("PostgreSQL's binaries are not installed (scripts/test installs the postgresql package)");
        var folder = Path.Combine(Path.GetTempPath(), "supervisor-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        await RunAsync("chown", "postgres", folder);
        var cluster = new PostgresCluster(bin, folder, LoopbackPort.Free());
        await cluster.AsPostgresAsync($"'{bin}/initdb' -D '{folder}/data' -U postgres --auth=trust -E UTF8");
        await cluster.StartAsync();
        return cluster;
    }

    public Task StartAsync() =>
        AsPostgresAsync($"'{_bin}/pg_ctl' -D '{_folder}/data' -l '{_folder}/log' -w -o \"-h 127.0.0.1 -p {Port} -k '{_folder}'\" start");

    /// <summary>A fast shutdown: open connections are cut, as in an outage.</summary>
    public Task StopAsync() => AsPostgresAsync($"'{_bin}/pg_ctl' -D '{_folder}/data' -m fast -w stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }
        Directory.Delete(_folder, recursive: true);
    }

    private Task AsPostgresAsync(string command) => RunAsync("su", "postgres", "-s", "/bin/sh", "-c", command);

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
    }
}

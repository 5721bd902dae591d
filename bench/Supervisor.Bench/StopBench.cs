using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace Supervisor.Bench;

/// <summary>
/// A graceful stop of one host (a one-node cluster, SQLite journal) with N running accounts: N sessions imported through
/// its API and each asked once for getSession at the bench PDS, then SIGTERM. Prints how long until the process exited,
/// and its exit code.
/// </summary>
public static class StopBench
{
    public static async Task RunAsync(int count)
    {
        await using var pds = await BenchPds.StartAsync();
        await using var host = await BenchHost.StartAsync();
        Console.WriteLine($"graceful stop: one host (SQLite), {count:N0} running accounts, SIGTERM");
        var clock = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(32))
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var did = Accounts.Did(i);
                    var now = DateTimeOffset.UtcNow;
                    var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
                    using (var imported = await host.Http.PostAsJsonAsync("/accounts/import", new { session = $"a{i}.bench:::{did}:::{access}:::{refresh}:::{pds.Url}", validate = false }))
                        if (imported.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"import answered {(int)imported.StatusCode}");
                    using var answer = await host.Http.GetAsync($"/accounts/{did}/xrpc/com.atproto.server.getSession");
                    if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"getSession answered {(int)answer.StatusCode}");
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        Console.WriteLine($"imported and asked: {clock.Elapsed.TotalSeconds:0.0} s");
        clock.Restart();
        var exitCode = await host.TerminateAsync(TimeSpan.FromMinutes(5));
        Console.WriteLine($"exited {clock.Elapsed.TotalSeconds:0.0} s after SIGTERM, exit code {exitCode}");
    }
}

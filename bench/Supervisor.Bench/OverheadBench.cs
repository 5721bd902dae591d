using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Akka.Actor;
using Supervisor.Actors.Pds;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Bench;

/// <summary>
/// Request overhead: the same authenticated getSession to the same local server, with the same token, sent directly
/// with HttpClient, through the account's actor (Ask), through YARP forwarding it with the token (a process of its
/// own, <see cref="BenchYarpProcess"/>) and through the host's HTTP API (a real host process), in one run, by the same
/// number of concurrent loops; and through YARP doing the host's per-request work (<see cref="BenchHostWork"/>), to
/// say what that work costs a plain reverse proxy. The proxies run side by side and are measured in alternating rounds, so
/// that their ratios are taken under the same load of the machine.
/// </summary>
public static class OverheadBench
{
    private const string Method = "com.atproto.server.getSession";

    public static async Task RunAsync(int workers, TimeSpan duration, int rounds, int hostAccounts)
    {
        await using var pds = await BenchPds.StartAsync();
        var did = Accounts.Did(0);
        var now = DateTimeOffset.UtcNow;
        var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
        var session = $"a0.bench:::{did}:::{access}:::{refresh}:::{pds.Url}";
        Console.WriteLine($"request overhead: getSession, {workers} concurrent loops, {duration.TotalSeconds:0} s each, local bench PDS; YARP and the host in {rounds} alternating round(s); the host's requests to {hostAccounts} account(s) in turn");
        Console.WriteLine("cpu ms/req: CPU time of the bench process (client, bench PDS) and of the proxy's own process (YARP process, host), over every request of the way");

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue });
        var directResult = await MeasureAsync("direct HttpClient", workers, duration, null, async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{pds.Url}/xrpc/{Method}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);
            using var answer = await client.SendAsync(request);
            await answer.Content.ReadAsByteArrayAsync();
            return answer.IsSuccessStatusCode;
        });
        Console.WriteLine(directResult);

        Way actorResult;
        using (var journal = new BenchJournal(JournalKind.Sqlite))
        {
            var (system, accounts) = journal.Start();
            await accounts.Ask<object>(new ImportSession(session, pds.Url, Validate: false), TimeSpan.FromSeconds(30));
            var call = new CallXrpc(did, XrpcRequest.Query(Method));
            actorResult = await MeasureAsync("through the actor", workers, duration, null, async () =>
                await accounts.Ask<object>(call, TimeSpan.FromSeconds(30)) is XrpcResponse { Status: 200 });
            await system.Terminate();
        }
        Console.WriteLine(actorResult.ToString(directResult));

        await using var yarp = await BenchYarpProcess.StartAsync(pds.Url, access);
        // YARP again, doing the host's per-request work (BenchHostWork): what that work costs a plain reverse proxy.
        var caller = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        await using var yarpWithWork = await BenchYarpProcess.StartAsync(pds.Url, access, caller);
        await using var host = await BenchHost.StartAsync();
        Console.WriteLine($"YARP process {yarp.Pid}, YARP with the host's work {yarpWithWork.Pid}, host process {host.Pid}");
        // The host's requests go to its accounts in turn: with one (the default) every loop shares its loans; with as many as
        // the loops or more, each account mostly has one request at a time, as a bot that waits for each answer.
        var hostUrls = new string[hostAccounts];
        for (var i = 0; i < hostAccounts; i++)
        {
            var (accountAccess, accountRefresh) = i == 0 ? (access, refresh) : BenchJwt.Pair(Accounts.Did(i), now, now.AddHours(2));
            using (var imported = await host.Http.PostAsJsonAsync("/accounts/import", new { session = $"a{i}.bench:::{Accounts.Did(i)}:::{accountAccess}:::{accountRefresh}:::{pds.Url}", validate = false }))
                if (imported.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"import answered {(int)imported.StatusCode}");
            hostUrls[i] = $"{host.Url}/accounts/{Accounts.Did(i)}/xrpc/{Method}";
        }
        var turn = 0;
        Func<Task<bool>> viaYarpSend = () => GetAsync(client, $"{yarp.Url}/xrpc/{Method}", null);
        Func<Task<bool>> viaYarpWithWorkSend = () => GetAsync(client, $"{yarpWithWork.Url}/xrpc/{Method}", caller);
        Func<Task<bool>> viaHostSend = () => GetAsync(client, hostUrls[(int)((uint)Interlocked.Increment(ref turn) % (uint)hostAccounts)], host.AdminToken);
        // Both processes are new: two unreported rounds each first, so that the JIT's later tiers are in place in both (after
        // one, YARP's first reported round still ran at about three quarters of its later ones).
        for (var warmUp = 0; warmUp < 2; warmUp++)
        {
            await MeasureAsync("warm-up", workers, duration, null, viaYarpSend);
            await MeasureAsync("warm-up", workers, duration, null, viaYarpWithWorkSend);
            await MeasureAsync("warm-up", workers, duration, null, viaHostSend);
        }
        // Throughput's ratio, and the ratio of the CPU each proxy's process spent a request (YARP's over the host's, so that
        // higher is better in both): the second moves far less with the machine's load from round to round.
        var (ratios, cpuRatios, workRatios, workCpuRatios) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            var viaYarp = await MeasureAsync("through YARP (process)", workers, duration, () => yarp.CpuTime, viaYarpSend, yarp.RuntimeAsync);
            Console.WriteLine(viaYarp.ToString(directResult));
            var viaYarpWithWork = await MeasureAsync("through YARP with the host's work", workers, duration, () => yarpWithWork.CpuTime, viaYarpWithWorkSend, yarpWithWork.RuntimeAsync);
            Console.WriteLine(viaYarpWithWork.ToString(directResult));
            var viaHost = await MeasureAsync("through the HTTP API", workers, duration, () => host.CpuTime, viaHostSend, host.RuntimeAsync);
            Console.WriteLine(viaHost.ToString(directResult));
            ratios.Add(viaHost.Load.PerSecond / viaYarp.Load.PerSecond);
            cpuRatios.Add(viaYarp.ProxyCpuMs / viaHost.ProxyCpuMs);
            workRatios.Add(viaYarpWithWork.Load.PerSecond / viaYarp.Load.PerSecond);
            workCpuRatios.Add(viaYarp.ProxyCpuMs / viaYarpWithWork.ProxyCpuMs);
            Console.WriteLine($"round {round}: ratio host/YARP-process {ratios[^1]:0.00}, CPU a request YARP/host {cpuRatios[^1]:0.00}; " +
                              $"YARP with the host's work/YARP {workRatios[^1]:0.00}, CPU a request YARP/YARP with the work {workCpuRatios[^1]:0.00}");
        }
        if (rounds > 1)
        {
            Console.WriteLine($"host/YARP-process over {rounds} rounds: {Spread(ratios)}");
            Console.WriteLine($"CPU a request YARP/host over {rounds} rounds: {Spread(cpuRatios)}");
            Console.WriteLine($"YARP with the host's work/YARP-process over {rounds} rounds: {Spread(workRatios)}");
            Console.WriteLine($"CPU a request YARP/YARP with the host's work over {rounds} rounds: {Spread(workCpuRatios)}");
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Spread(List<double> values) => $"median {Median(values):0.00}, min {values.Min():0.00}, max {values.Max():0.00}";

    private static async Task<bool> GetAsync(HttpClient client, string url, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var answer = await client.SendAsync(request);
        await answer.Content.ReadAsByteArrayAsync();
        return answer.IsSuccessStatusCode;
    }

    /// <summary>
    /// One way's figures: the load, the CPU it took per request (bench process; the proxy's own process), and what the
    /// proxy's process allocated (KB), how many thread-pool work items it ran and how long its garbage collections paused it
    /// (microseconds) per request (NaN when not read).
    /// </summary>
    private sealed record Way(LoadResult Load, double BenchCpuMs, double ProxyCpuMs, double ProxyAllocatedKb = double.NaN, double ProxyWorkItems = double.NaN,
        double ProxyGcPauseUs = double.NaN)
    {
        public string ToString(Way direct) => this + $"   ratio to direct {Load.PerSecond / direct.Load.PerSecond:0.00}";

        public override string ToString() => $"{Load}   cpu ms/req: bench {BenchCpuMs:0.000}, proxy {ProxyCpuMs:0.000}"
            + (double.IsNaN(ProxyAllocatedKb) ? "" : $"   proxy per req: allocated {ProxyAllocatedKb:0.0} KB, thread-pool work items {ProxyWorkItems:0.0}, gc pause {ProxyGcPauseUs:0.0} us");
    }

    /// <summary>
    /// Measures one way; <paramref name="proxyCpu"/> reads the CPU time of the proxy's own process, if it has one, and
    /// <paramref name="proxyRuntime"/> its runtime counts so far (read with the proxy quiet, before and after:
    /// the round's warm-up counts too).
    /// </summary>
    private static async Task<Way> MeasureAsync(string name, int workers, TimeSpan duration, Func<TimeSpan>? proxyCpu, Func<Task<bool>> send,
        Func<Task<ProxyRuntime>>? proxyRuntime = null)
    {
        // Read 400 ms after the last request: the host's /metrics answer is cached for 300 ms.
        var quiet = TimeSpan.FromMilliseconds(400);
        ProxyRuntime? runtimeBefore = null;
        if (proxyRuntime is not null)
        {
            await Task.Delay(quiet);
            runtimeBefore = await proxyRuntime();
        }
        var all = 0L;
        var sent = 0;
        var bench = Process.GetCurrentProcess();
        TimeSpan benchCpu = default, hostCpu = default;
        var load = await LoadResult.MeasureAsync(name, workers, duration, async () =>
        {
            Interlocked.Increment(ref all);
            Interlocked.Increment(ref sent);
            return await send();
        }, measuring: () =>
        {
            // CPU counted from the end of the warm-up, as the requests are.
            Interlocked.Exchange(ref sent, 0);
            bench.Refresh();
            benchCpu = bench.TotalProcessorTime;
            hostCpu = proxyCpu?.Invoke() ?? TimeSpan.Zero;
        });
        bench.Refresh();
        var benchMs = (bench.TotalProcessorTime - benchCpu).TotalMilliseconds / sent;
        var hostMs = proxyCpu is null ? 0 : (proxyCpu() - hostCpu).TotalMilliseconds / sent;
        if (proxyRuntime is null) return new Way(load, benchMs, hostMs);
        await Task.Delay(quiet);
        var runtime = (await proxyRuntime()).Since(runtimeBefore!);
        return new Way(load, benchMs, hostMs, runtime.Allocated / 1024 / all, runtime.WorkItems / all, runtime.GcPauseSeconds * 1e6 / all);
    }
}

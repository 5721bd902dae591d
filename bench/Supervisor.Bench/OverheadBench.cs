using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Akka.Actor;
using Supervisor.Actors.Pds;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Bench;

/// <summary>
/// Request overhead: the same authenticated getSession to the same local server, with the same token,
/// sent directly with HttpClient, through the account's actor (Ask), and through the host's HTTP API (a real
/// host process), one after the other in one run, by the same number of concurrent loops.
/// </summary>
public static class OverheadBench
{
    public static async Task RunAsync(int workers, TimeSpan duration)
    {
        await using var pds = await BenchPds.StartAsync();
        var did = Accounts.Did(0);
        var now = DateTimeOffset.UtcNow;
        var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
        var session = $"a0.bench:::{did}:::{access}:::{refresh}:::{pds.Url}";
        Console.WriteLine($"request overhead: getSession, {workers} concurrent loops, {duration.TotalSeconds:0} s each, local bench PDS");

        using var direct = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue });
        var directResult = await LoadResult.MeasureAsync("direct HttpClient", workers, duration, async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{pds.Url}/xrpc/com.atproto.server.getSession");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);
            using var answer = await direct.SendAsync(request);
            await answer.Content.ReadAsByteArrayAsync();
            return answer.IsSuccessStatusCode;
        });
        Console.WriteLine(directResult);

        LoadResult actorResult;
        using (var journal = new BenchJournal(JournalKind.Sqlite))
        {
            var (system, accounts) = journal.Start();
            await accounts.Ask<object>(new ImportSession(session, pds.Url, Validate: false), TimeSpan.FromSeconds(30));
            var call = new CallXrpc(did, XrpcRequest.Query("com.atproto.server.getSession"));
            actorResult = await LoadResult.MeasureAsync("through the actor", workers, duration, async () =>
                await accounts.Ask<object>(call, TimeSpan.FromSeconds(30)) is XrpcResponse { Status: 200 });
            await system.Terminate();
        }
        Console.WriteLine(actorResult + $"   ratio {actorResult.PerSecond / directResult.PerSecond:0.00}");

        var httpResult = await ThroughHttpApiAsync(pds, session, did, workers, duration);
        Console.WriteLine(httpResult + $"   ratio {httpResult.PerSecond / directResult.PerSecond:0.00}");
    }

    private static async Task<LoadResult> ThroughHttpApiAsync(BenchPds pds, string session, string did, int workers, TimeSpan duration)
    {
        await using var host = await BenchHost.StartAsync();
        var http = host.Http;
        using (var imported = await http.PostAsJsonAsync("/accounts/import", new { session, validate = false }))
            if (imported.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"import answered {(int)imported.StatusCode}");
        return await LoadResult.MeasureAsync("through the HTTP API", workers, duration, async () =>
        {
            using var answer = await http.GetAsync($"/accounts/{did}/xrpc/com.atproto.server.getSession");
            await answer.Content.ReadAsByteArrayAsync();
            return answer.IsSuccessStatusCode;
        });
    }
}

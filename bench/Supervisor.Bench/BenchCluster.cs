using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace Supervisor.Bench;

/// <summary>
/// Supervisor nodes as real processes on loopback forming one Akka.NET cluster on one PostgreSQL journal (as
/// scripts/cluster runs them): the same token key and admin token on every node, seeds on fixed remoting ports, so
/// that a node can be killed, stopped and started again in its place. One client with the admin token reaches them all.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    private readonly string _postgres;
    private readonly string _seeds;
    private readonly string _key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly string _adminToken = Guid.NewGuid().ToString("N");
    /// <summary>The remoting certificate the nodes share (a temporary file, deleted with the cluster).</summary>
    private readonly string _certificate = Path.Combine(Path.GetTempPath(), "supervisor-bench-cluster-" + Guid.NewGuid().ToString("N")[..8] + ".pfx");

    private BenchCluster(string postgres, List<int> remotingPorts)
    {
        _postgres = postgres;
        RemotingPorts = remotingPorts;
        _seeds = string.Join(",", remotingPorts.Select(p => $"127.0.0.1:{p}"));
        Supervisor.Host.Configuration.RemotingCertificate.CreateSelfSigned(_certificate);
        Nodes = new BenchHost?[remotingPorts.Count];
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
    }

    /// <summary>The nodes by index; null while a node is down.</summary>
    public BenchHost?[] Nodes { get; }

    /// <summary>Each node's Akka remoting port (its address ends with it).</summary>
    public List<int> RemotingPorts { get; }

    /// <summary>A client with the admin token for every node (absolute URLs, no timeout of its own: callers cancel).</summary>
    public HttpClient Client { get; }

    /// <summary>Starts <paramref name="count"/> nodes at once on the PostgreSQL database <paramref name="postgres"/> and waits until all are Up.</summary>
    public static async Task<BenchCluster> StartAsync(int count, string postgres)
    {
        // At most 20 connections a node: three nodes share one server (with bench/run's throwaway one, max_connections is 300).
        postgres = new Npgsql.NpgsqlConnectionStringBuilder(postgres) { MaxPoolSize = 20 }.ConnectionString;
        var cluster = new BenchCluster(postgres, Enumerable.Range(0, count).Select(_ => FreePort()).ToList());
        await Task.WhenAll(Enumerable.Range(0, count).Select(cluster.StartNodeAsync));
        await cluster.WaitForMembersAsync(0, count, TimeSpan.FromMinutes(3));
        return cluster;
    }

    /// <summary>Starts node <paramref name="index"/> (again) on its remoting port; returns once it answers /healthz/ready.</summary>
    public async Task StartNodeAsync(int index)
    {
        var node = await BenchHost.StartAsync(new Dictionary<string, string>
        {
            ["SUPERVISOR_JOURNAL"] = "postgres", ["SUPERVISOR_POSTGRES"] = _postgres, ["SUPERVISOR_KEY"] = _key,
            ["SUPERVISOR_ADMIN_TOKEN"] = _adminToken, ["SUPERVISOR_CLUSTER_HOST"] = "127.0.0.1",
            ["SUPERVISOR_CLUSTER_PORT"] = RemotingPorts[index].ToString(CultureInfo.InvariantCulture), ["SUPERVISOR_CLUSTER_SEEDS"] = _seeds,
            ["SUPERVISOR_CLUSTER_CERT"] = _certificate,
            ["SUPERVISOR_HOCON"] = "supervisor.identity.verify = off",
        });
        Nodes[index] = node;
        for (var clock = Stopwatch.StartNew(); ; await Task.Delay(200))
        {
            using var answer = await node.Http.GetAsync("/healthz/ready");
            if (answer.IsSuccessStatusCode) return;
            if (clock.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException($"node {index} was not ready within 3 minutes");
        }
    }

    /// <summary>The index of the node whose cluster address is <paramref name="address"/>.</summary>
    public int IndexOf(string address) => RemotingPorts.FindIndex(p => address.EndsWith(":" + p, StringComparison.Ordinal));

    /// <summary>The URL of a getSession through node <paramref name="node"/> for <paramref name="did"/>.</summary>
    public string GetSessionUrl(int node, string did) => $"{Nodes[node]!.Url}/accounts/{did}/xrpc/com.atproto.server.getSession";

    /// <summary>Whether <paramref name="did"/> answers getSession with 200 through node <paramref name="node"/> within <paramref name="timeout"/>.</summary>
    public async Task<bool> AnswersAsync(int node, string did, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            using var answer = await Client.GetAsync(GetSessionUrl(node, did), HttpCompletionOption.ResponseContentRead, cancel.Token);
            return answer.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Each account's node (cluster address) as <c>GET /accounts/{did}</c> through node <paramref name="via"/> names it.</summary>
    public async Task<Dictionary<string, string>> OwnersAsync(int via, IEnumerable<string> dids)
    {
        var owners = new Dictionary<string, string>();
        foreach (var did in dids)
        {
            var status = await Nodes[via]!.Http.GetFromJsonAsync<JsonElement>($"/accounts/{did}");
            owners[did] = status.TryGetProperty("node", out var node) && node.ValueKind == JsonValueKind.String ? node.GetString()! : "(none)";
        }
        return owners;
    }

    /// <summary>The members node <paramref name="via"/> sees: Up ones, and those it marks unreachable.</summary>
    public async Task<(int Up, int Members, int Unreachable)> MembersAsync(int via, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var answer = await Client.GetAsync($"{Nodes[via]!.Url}/status", cancel.Token);
        var status = await answer.Content.ReadFromJsonAsync<JsonElement>(cancel.Token);
        var cluster = status.GetProperty("cluster");
        var members = cluster.GetProperty("members").EnumerateArray().ToList();
        return (members.Count(m => m.GetProperty("status").GetString() == "Up"), members.Count, cluster.GetProperty("unreachable").GetArrayLength());
    }

    /// <summary>The leader's address as node <paramref name="via"/> sees it.</summary>
    public async Task<string?> LeaderAsync(int via)
    {
        var status = await Nodes[via]!.Http.GetFromJsonAsync<JsonElement>("/status");
        return status.GetProperty("cluster").TryGetProperty("leader", out var leader) && leader.ValueKind == JsonValueKind.String ? leader.GetString() : null;
    }

    /// <summary>Waits until node <paramref name="via"/> sees exactly <paramref name="up"/> members, all Up and reachable.</summary>
    public async Task<TimeSpan> WaitForMembersAsync(int via, int up, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var (seenUp, members, unreachable) = await MembersAsync(via, TimeSpan.FromSeconds(5));
                if (seenUp == up && members == up && unreachable == 0) return clock.Elapsed;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException)
            {
                // not answering yet
            }
            if (clock.Elapsed > timeout) throw new TimeoutException($"node {via} did not see {up} members Up within {timeout.TotalSeconds:0} s");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
            if (node is not null) await node.DisposeAsync();
        Client.Dispose();
        File.Delete(_certificate);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

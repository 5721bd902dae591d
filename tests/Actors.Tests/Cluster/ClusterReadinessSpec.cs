using System.Net;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// <c>GET /healthz/ready</c> in a cluster (README, "Health"): a node whose seeds have not let it join is not ready, and
/// its <c>cluster</c> check says so; once a seed answers and it is <c>Up</c>, it is ready. Two hosts as processes on one
/// PostgreSQL.
/// </summary>
public sealed class ClusterReadinessSpec
{
    [Fact]
    public async Task A_node_is_ready_only_once_it_is_Up_in_its_cluster()
    {
        using var journal = new TestJournal(JournalKind.Postgres);
        var (nodes, _) = ClusterProcesses.Create(journal, 2);
        try
        {
            // The second seed alone: it asks the first to let it in, which does not answer.
            var (first, second) = (nodes[0], nodes[1]);
            await second.StartAsync();
            await SupervisorSpec.EventuallyAsync(async () => (await ReadyAsync(second)).Cluster.GetProperty("description").GetString()!.EndsWith("in its cluster, not Up", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the cluster check to say the node is not Up");
            var (status, cluster) = await ReadyAsync(second);
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), (status, cluster.GetProperty("status").GetString()));

            await first.StartAsync();
            await SupervisorSpec.EventuallyAsync(async () => (await ReadyAsync(second)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60),
                "the second node ready once the first let it join");
            Assert.Equal("Healthy", (await ReadyAsync(second)).Cluster.GetProperty("status").GetString());
            await SupervisorSpec.EventuallyAsync(async () => (await ReadyAsync(first)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the first node ready");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_first_seed_alone_never_comes_Up_and_does_once_a_majority_of_the_seeds_is_there()
    {
        // The first seed joins itself when no other seed answers (after seed-node-timeout, 5 s): restarted during a
        // partition it would form a cluster of its own beside the majority's, start their accounts and refresh them.
        using var journal = new TestJournal(JournalKind.Postgres);
        var (nodes, _) = ClusterProcesses.Create(journal, 3);
        try
        {
            var first = nodes[0];
            await first.StartAsync();
            await Task.Delay(TimeSpan.FromSeconds(15));
            var (status, cluster) = await ReadyAsync(first);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.EndsWith("in its cluster, not Up", cluster.GetProperty("description").GetString());

            await nodes[1].StartAsync();
            foreach (var node in nodes.Take(2))
                await SupervisorSpec.EventuallyAsync(async () => (await ReadyAsync(node)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "two of three seeds ready");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    /// <summary>The readiness probe's status and its <c>cluster</c> check, asked without credentials.</summary>
    private static async Task<(HttpStatusCode Status, JsonElement Cluster)> ReadyAsync(SupervisorProcess node)
    {
        using var anonymous = new HttpClient { BaseAddress = node.Http.BaseAddress };
        using var answer = await anonymous.GetAsync("/healthz/ready");
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        return (answer.StatusCode, body.GetProperty("checks").GetProperty("cluster").Clone());
    }
}

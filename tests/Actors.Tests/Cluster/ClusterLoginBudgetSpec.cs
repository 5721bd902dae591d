using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// An identifier's login budget is one for the cluster (README, "Login budgets"): attempts through two nodes count
/// together, and the one past the budget is refused on either node without reaching the server. Two hosts as
/// processes on one PostgreSQL, the fake PDS behind them.
/// </summary>
public sealed class ClusterLoginBudgetSpec
{
    private const string CreateSession = "com.atproto.server.createSession";

    [Fact]
    public async Task Logins_through_two_nodes_count_against_one_budget_and_the_one_past_it_never_reaches_the_server()
    {
        using var journal = new TestJournal(JournalKind.Postgres);
        await using var pds = await FakePdsServer.StartAsync();
        var ada = pds.CreateAccount("ada.test", TestSecrets.Password("pw-ada-" + Guid.NewGuid().ToString("N")));
        var (nodes, _) = ClusterProcesses.Create(journal, 2, "supervisor.login-budget.default = [\"3 per 5m\"]");
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            foreach (var node in nodes)
                await SupervisorSpec.EventuallyAsync(async () => await MembersUpAsync(node) == 2, TimeSpan.FromSeconds(60), "both nodes Up");

            // Three wrong passwords, through A, B and A: the server refuses each, and each is counted where both nodes see it.
            var calls = pds.CallCount(CreateSession);
            for (var attempt = 0; attempt < 3; attempt++)
                Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(nodes[attempt % 2], pds, ada.Handle, "not-the-password")).Status);
            Assert.Equal(calls + 3, pds.CallCount(CreateSession));

            // The fourth, through B (which sent one of the three) and then A, even with the right password: refused here.
            foreach (var node in new[] { nodes[1], nodes[0] })
            {
                var (status, body) = await LoginAsync(node, pds, ada.Handle, ada.Password);
                Assert.Equal(HttpStatusCode.TooManyRequests, status);
                Assert.Equal("RateLimitExceeded", body.GetProperty("error").GetString());
            }
            Assert.Equal(calls + 3, pds.CallCount(CreateSession));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> LoginAsync(SupervisorProcess node, FakePdsServer pds, string identifier, string password)
    {
        using var answer = await node.Http.PostAsJsonAsync("/accounts", new { identifier, password, service = pds.Url });
        return (answer.StatusCode, await answer.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static async Task<int> MembersUpAsync(SupervisorProcess node)
    {
        using var answer = await node.Http.GetAsync("/status");
        if (!answer.IsSuccessStatusCode) return 0;
        var status = await answer.Content.ReadFromJsonAsync<JsonElement>();
        return status.GetProperty("cluster").GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "Up");
    }
}

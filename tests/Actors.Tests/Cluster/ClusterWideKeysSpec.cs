using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// Account keys and the audit trail have one owner in the cluster (a singleton journaling them once) and every node
/// reads the keys from a replica of its own: a key issued through one node works through the other at once, a
/// revocation through either is refused by both, a key session opened through one refreshes through the other, keys
/// issued through both nodes at the same time are all kept, and the audit trail is the same on every node. The session
/// events of an account reach the event stream of every node, and an account imported through one node is found by its
/// handle through the other.
/// Two hosts as processes on one PostgreSQL, the real PDS behind them.
/// </summary>
[Collection(ProcessOutageCollection.Name)]
public sealed class ClusterWideKeysSpec(RealPdsServer pds, ITestOutputHelper output)
{
    private const string GetSession = "com.atproto.server.getSession";

    [Fact]
    public async Task Keys_issued_revoked_and_used_through_any_node_hold_on_every_node_and_the_audit_is_one()
    {
        using var journal = new TestJournal(JournalKind.Postgres);
        // No heartbeat within the spec: every change must reach the other node as it happens, not at the next beat.
        var (nodes, _) = ClusterProcesses.Create(journal, 2, "supervisor.keys.heartbeat = 10m");
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            var (a, b) = (nodes[0], nodes[1]);
            var account = await pds.CreateAccountAsync("ck");
            using (var imported = await a.Http.PostAsJsonAsync("/accounts/import", new { session = account.SessionString(pds.Url), service = pds.Url }))
                Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
            // Found by its handle through either node: the node it was imported on told the other's directory
            // (asked first: a lookup by DID would teach the node the handle too).
            foreach (var node in nodes)
                await SupervisorSpec.EventuallyAsync(async () => await DidByHandleAsync(node, account.Handle) == account.Did,
                    TimeSpan.FromSeconds(15), "the account found by its handle on every node");
            using (var byHandle = await b.Http.GetAsync($"/accounts/{account.Handle}/xrpc/{GetSession}"))
                Assert.Equal(HttpStatusCode.OK, byHandle.StatusCode);

            // Its history is written once, by the node it runs on, and each node's account page shows it.
            foreach (var node in nodes)
                await SupervisorSpec.EventuallyAsync(async () => Regex.Matches(await AccountPageAsync(node, account.Did), "<td>imported</td>").Count == 1,
                    TimeSpan.FromSeconds(15), "the import in the account's history on every node");

            // Issued through A: it works through B from the first request on.
            var (id, key) = await IssueAsync(a, account.Did);
            Assert.Equal(HttpStatusCode.OK, await CallAsync(b, account.Did, key));
            Assert.Contains(id, await b.Http.GetStringAsync("/keys"));

            // Keys issued through both nodes at once are all kept, and all work through both.
            var many = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => IssueAsync(nodes[i % 2], account.Did)));
            foreach (var node in nodes)
                foreach (var (_, each) in many)
                    Assert.Equal(HttpStatusCode.OK, await CallAsync(node, account.Did, each));

            // Revoked through B: refused through A from the next request on.
            using (var revoked = await b.Http.DeleteAsync($"/keys/{id}"))
                Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(a, account.Did, key));
            Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(b, account.Did, key));

            // A key session opened through A refreshes through B, and ends through A.
            using var anonymous = new HttpClient();
            var (_, sessionKey) = many[0];
            using var login = await anonymous.PostAsJsonAsync($"{a.Http.BaseAddress}xrpc/com.atproto.server.createSession", new { identifier = account.Handle, password = sessionKey });
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            var refreshJwt = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshJwt").GetString()!;
            using var refreshRequest = new HttpRequestMessage(HttpMethod.Post, $"{b.Http.BaseAddress}xrpc/com.atproto.server.refreshSession");
            refreshRequest.Headers.Authorization = new("Bearer", refreshJwt);
            using var refreshed = await anonymous.SendAsync(refreshRequest);
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
            var next = (await refreshed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshJwt").GetString()!;
            using var deleteRequest = new HttpRequestMessage(HttpMethod.Post, $"{a.Http.BaseAddress}xrpc/com.atproto.server.deleteSession");
            deleteRequest.Headers.Authorization = new("Bearer", next);
            using (var deleted = await anonymous.SendAsync(deleteRequest))
                Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            // Closed through A: its refresh token is refused through B from the next request on.
            using var afterClose = new HttpRequestMessage(HttpMethod.Post, $"{b.Http.BaseAddress}xrpc/com.atproto.server.refreshSession");
            afterClose.Headers.Authorization = new("Bearer", next);
            using (var refused = await anonymous.SendAsync(afterClose))
            {
                var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), (refused.StatusCode, error.GetProperty("error").GetString()));
            }

            // One audit trail: every node lists every entry, each once (11 keys issued, 1 revoked, 1 key session opened and closed).
            var trails = await Task.WhenAll(nodes.Select(n => n.Http.GetFromJsonAsync<JsonElement>("/audit?limit=1000")));
            foreach (var trail in trails)
            {
                var actions = trail.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
                output.WriteLine(string.Join(", ", actions));
                Assert.Equal(11, actions.Count(x => x == "KeyIssued"));
                Assert.Equal(1, actions.Count(x => x == "KeyRevoked"));
                Assert.Equal(1, actions.Count(x => x == "KeySessionOpened"));
                Assert.Equal(1, actions.Count(x => x == "KeySessionClosed"));
            }
            Assert.Equal(trails[0].ToString(), trails[1].ToString());

            // The account's session events reach the event stream of each node, wherever it runs (by then the nodes'
            // publish-subscribe has long heard of both streams' hubs: what is published before a node's hub is known is lost).
            await using var eventsOfA = await SseReader.OpenAsync(a, "/events");
            await using var eventsOfB = await SseReader.OpenAsync(b, "/events");
            using (var refreshNow = await b.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
                Assert.Equal(HttpStatusCode.OK, refreshNow.StatusCode);
            foreach (var events in new[] { eventsOfA, eventsOfB })
            {
                var refresh = await events.NextAsync();
                Assert.Equal(("Refresh", account.Did), (refresh.Event, refresh.Data.GetProperty("did").GetString()));
            }
            foreach (var node in nodes) Assert.DoesNotContain("persist failure", node.Output, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    private static async Task<(string Id, string Key)> IssueAsync(SupervisorProcess node, string did)
    {
        using var issued = await node.Http.PostAsJsonAsync("/keys", new { account = did });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var body = await issued.Content.ReadFromJsonAsync<JsonElement>();
        var key = body.GetProperty("key").GetString()!;
        TestSecrets.Register("account-key", key);
        return (body.GetProperty("id").GetString()!, key);
    }

    /// <summary>The DID of the account <c>GET /accounts/{handle}</c> finds through <paramref name="node"/>, or null.</summary>
    private static async Task<string?> DidByHandleAsync(SupervisorProcess node, string handle)
    {
        using var answer = await node.Http.GetAsync($"/accounts/{handle}");
        return answer.IsSuccessStatusCode ? (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("did").GetString() : null;
    }

    private static async Task<string> AccountPageAsync(SupervisorProcess node, string did)
    {
        using var page = new HttpRequestMessage(HttpMethod.Get, $"/status/accounts/{Uri.EscapeDataString(did)}");
        page.Headers.Authorization = BasicCredential.Of("operator", node.OperatorPassword);
        using var answer = await node.Http.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadAsStringAsync();
    }

    private static async Task<HttpStatusCode> CallAsync(SupervisorProcess node, string did, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{did}/xrpc/{GetSession}");
        request.Headers.Authorization = new("Bearer", key);
        using var answer = await node.Http.SendAsync(request);
        return answer.StatusCode;
    }
}

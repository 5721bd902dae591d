using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// The sample samples/ClusterMember, a separate process, joins a host process's cluster as a member with the role
/// client (the host's remoting certificate, the real PDS with 10 s access tokens): it is listed with that role, gets no
/// shard (the account stays on the host), calls getSession through its shard-region proxy and hears the account's
/// refreshes; killed, it is unreachable and then downed, and the host's accounts go on meanwhile: it alone is the
/// majority of the supervisor nodes. Nothing the member prints holds a token.
/// </summary>
[Collection(RealPdsCollection.Name)]
public sealed class ClusterMemberSpec(RealPdsServer pds, ITestOutputHelper output)
{
    [Fact]
    public async Task A_client_member_joins_hosts_no_shard_calls_an_account_through_a_proxy_and_the_host_goes_on_when_it_is_gone()
    {
        using var folder = new TestJournal();
        // The member's port is the lower one: were it counted in the split-brain resolver's majority, a tie of one
        // against one would keep the side with the lowest address, the member's, and down the host.
        var (memberPort, hostPort) = (LoopbackPort.Free(), LoopbackPort.Free()) is var (a, b) && a < b ? (a, b) : (b, a);
        await using var host = new SupervisorProcess(folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_CLUSTER_PORT"] = hostPort.ToString(CultureInfo.InvariantCulture),
            // A longer wait before the resolver downs the lost member: the host's accounts are asked while it is unreachable.
            ["SUPERVISOR_HOCON"] = "akka.cluster.split-brain-resolver.stable-after = 20s",
        });
        await host.StartAsync();
        var hostAddress = $"akka.ssl.tcp://supervisor@127.0.0.1:{hostPort}";
        var account = await ImportAsync(host, "mem");

        using var member = ClusterMemberProcess.Start("--seeds", $"127.0.0.1:{hostPort}", "--port", memberPort.ToString(CultureInfo.InvariantCulture),
            "--cert", Supervisor.Host.Configuration.RemotingCertificate.FileIn(host.DataDir), "--did", account.Did, "--duration", "600");
        var memberAddress = $"akka.ssl.tcp://supervisor@127.0.0.1:{memberPort}";
        try
        {
            await member.WaitForLineAsync(l => l.StartsWith("status ", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
            // The host lists the member, Up, with the role client.
            var members = (await ClusterAsync(host)).GetProperty("members").EnumerateArray().ToList();
            var listed = Assert.Single(members, m => m.GetProperty("address").GetString() == memberAddress);
            Assert.Equal("Up", listed.GetProperty("status").GetString());
            Assert.Equal(["client"], listed.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
            // Through its proxy: getSession answers 200 with the account's DID, and the account runs on the host.
            Assert.Contains($"getSession 200 {account.Did}", member.Lines);
            var status = Assert.Single(member.Lines, l => l.StartsWith("status ", StringComparison.Ordinal));
            Assert.Equal($"status {account.Did} Active node {hostAddress}", status.Split('#')[0]);
            Assert.Equal(hostAddress, (await StatusAsync(host, account.Did)).GetProperty("node").GetString()!.Split('#')[0]);
            // Accounts that start after the member joined start on the host too: a new shard goes to the region with the
            // fewest shards, which the member would be if it ran one.
            foreach (var prefix in new[] { "memb", "memc", "memd" })
            {
                var later = await ImportAsync(host, prefix);
                Assert.Equal(hostAddress, (await StatusAsync(host, later.Did)).GetProperty("node").GetString()!.Split('#')[0]);
            }
            // Events reach the member from the host's event hub: a refresh within the access token's lifetime.
            await member.WaitForLineAsync(l => l.StartsWith($"event Refresh {account.Did} Active", StringComparison.Ordinal),
                pds.AccessTokenLifetime + TimeSpan.FromSeconds(10));
        }
        finally
        {
            output.WriteLine(member.Output);
        }

        // The member is lost (SIGKILL): while the host sees it unreachable, an account that starts now serves at once.
        member.Kill();
        await EventuallyAsync(async () => (await ClusterAsync(host)).GetProperty("unreachable").EnumerateArray().Any(u => u.GetString() == memberAddress),
            TimeSpan.FromSeconds(20), "the member unreachable");
        var second = await pds.CreateAccountAsync("mem2");
        var clock = Stopwatch.StartNew();
        await ImportAsync(host, second);
        Assert.Equal(HttpStatusCode.OK, await GetSessionAsync(host, second.Did));
        // Well within the 20 s the resolver waits before it downs the member, which a start waiting for the member would wait for.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"the new account served after {clock.Elapsed.TotalSeconds} s");
        Assert.Contains(memberAddress, (await ClusterAsync(host)).GetProperty("unreachable").EnumerateArray().Select(u => u.GetString()));

        // The resolver downs the member, not the host, and the host's accounts go on.
        await EventuallyAsync(async () => (await ClusterAsync(host)).GetProperty("members").EnumerateArray().All(m => m.GetProperty("address").GetString() != memberAddress),
            TimeSpan.FromSeconds(60), "the member removed");
        Assert.False(host.HasExited, "the host was downed");
        Assert.Equal(HttpStatusCode.OK, await GetSessionAsync(host, account.Did));
        Assert.Equal(HttpStatusCode.OK, await GetSessionAsync(host, second.Did));

        foreach (var text in new[] { member.Output })
        {
            Assert.Empty(Secrets.JwtsIn(text));
            Assert.DoesNotContain(account.AccessJwt, text);
            Assert.DoesNotContain(account.RefreshJwt, text);
        }
    }

    private async Task<RealAccount> ImportAsync(SupervisorProcess host, string prefix) => await ImportAsync(host, await pds.CreateAccountAsync(prefix));

    private async Task<RealAccount> ImportAsync(SupervisorProcess host, RealAccount account)
    {
        using var imported = await host.Http.PostAsJsonAsync("/accounts/import",
            new { session = account.SessionString(pds.Url), service = pds.Url });
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        return account;
    }

    private static async Task<HttpStatusCode> GetSessionAsync(SupervisorProcess host, string did)
    {
        using var answer = await host.Http.GetAsync($"/accounts/{did}/xrpc/com.atproto.server.getSession");
        return answer.StatusCode;
    }

    private static async Task<JsonElement> StatusAsync(SupervisorProcess host, string did) =>
        JsonDocument.Parse(await host.Http.GetStringAsync($"/accounts/{did}")).RootElement;

    private static async Task<JsonElement> ClusterAsync(SupervisorProcess host) =>
        JsonDocument.Parse(await host.Http.GetStringAsync("/status")).RootElement.GetProperty("cluster");

    private static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var until = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"waited {within.TotalSeconds} s for {what}");
            await Task.Delay(200);
        }
    }
}

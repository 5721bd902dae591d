using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// An account key reaches its own account only: another account's XRPC, supervised or not, by DID or handle, is refused
/// before that account is asked anything, so the key learns nothing of it and a resting one stays at rest.
/// </summary>
public sealed class ForeignAccountRefusalSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";

    [Fact]
    public async Task A_keys_call_for_another_account_is_refused_alike_for_every_one_and_wakes_none()
    {
        await using var host = await StartHostAsync("supervisor.accounts { active-window = 1s, passivate-after = 300ms }");
        var alice = await LoggedInAsync(host, "alice.test");
        var bob = await LoggedInAsync(host, "bob.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        await RestedAsync(host, count: 2);
        var calls = Pds.CallsInAll;

        using var bot = ClientWith(host, key);
        var answers = new List<string>();
        foreach (var other in new[] { bob.Did, bob.Handle, "BOB.Test", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "nobody.test" })
        {
            using var refused = await bot.GetAsync($"/accounts/{other}/xrpc/{GetSession}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            answers.Add(await refused.Content.ReadAsStringAsync());
        }
        // One answer for all: a supervised account is not told from one that is not.
        Assert.Single(answers.Distinct());

        // Nothing woke (watched for a second, more often than one woken would take to rest again) and the PDS heard
        // nothing; the key's own account then wakes for it.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        while (DateTime.UtcNow < until)
        {
            var status = await host.Http.GetFromJsonAsync<JsonElement>("/status");
            Assert.Equal((0, 2), (status.GetProperty("running").GetInt32(), status.GetProperty("passivated").GetInt32()));
            await Task.Delay(50);
        }
        Assert.Equal(calls, Pds.CallsInAll);
        using (var own = await bot.GetAsync($"/accounts/{alice.Handle}/xrpc/{GetSession}"))
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(calls + 1, Pds.CallsInAll);
    }
}

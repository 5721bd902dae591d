using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The HTTP API's refusals, each with its own status, against a fake PDS that can ask for a code, take an
/// account down and fail deleteSession: 401 AuthFactorTokenRequired, 429 with Retry-After, 403, 202; and with identities
/// verified, 403 IdentityUnverified and 409 AccountExists.
/// </summary>
public sealed class HttpRefusalsSpec : FakePdsHostSpec
{
    [Fact]
    public async Task Two_factor_login_budget_takedown_and_pending_logout_get_their_own_answers()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        await using var host = new SupervisorProcess(Folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_HOCON"] = """supervisor.login-budget.default = ["2 per 1m"]""",
        });
        await host.StartAsync();

        Pds.RequireAuthFactor(alice.Did, "123456");
        var (status, body) = await PostAsync(host, new { identifier = alice.Handle, password = alice.Password, service = Pds.Url });
        Assert.Equal((HttpStatusCode.Unauthorized, "AuthFactorTokenRequired"), (status, body.GetProperty("error").GetString()));
        (status, body) = await PostAsync(host, new { identifier = alice.Handle, password = alice.Password, service = Pds.Url, authFactorToken = "123456" });
        Assert.Equal((HttpStatusCode.Created, "Active"), (status, body.GetProperty("state").GetString()));

        // The budget of 2 logins a minute is spent: refused here, with when to retry.
        using (var refused = await host.Http.PostAsJsonAsync("/accounts", new { identifier = alice.Handle, password = alice.Password, service = Pds.Url, authFactorToken = "123456" }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(61));
            var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("RateLimitExceeded", error.GetProperty("error").GetString());
            Assert.True(error.TryGetProperty("retryAt", out _));
        }
        Assert.Equal(2, Pds.CallCount("com.atproto.server.createSession"));

        Pds.Takedown(bob.Did);
        (status, body) = await PostAsync(host, new { identifier = bob.Handle, password = bob.Password, service = Pds.Url });
        Assert.Equal((HttpStatusCode.Forbidden, "AccountTakedown"), (status, body.GetProperty("error").GetString()));

        Pds.FailNext("com.atproto.server.deleteSession", FakeFailure.ServerError500, times: 100);
        using (var logout = await host.Http.DeleteAsync($"/accounts/{alice.Did}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, logout.StatusCode);
            var pending = await logout.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("LoggingOut", "InternalServerError"), (pending.GetProperty("state").GetString(), pending.GetProperty("error").GetProperty("error").GetString()));
        }
        var after = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{alice.Did}");
        Assert.Equal("LoggingOut", after.GetProperty("state").GetString());
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    [Fact]
    public async Task A_strangers_session_naming_an_accounts_DID_is_403_IdentityUnverified_and_one_at_another_PDS_409_AccountExists()
    {
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        await using var host = new SupervisorProcess(Folder.Folder).VerifyingIdentities(Pds.Url, Pds.Url); // the fake is the directory too
        await host.StartAsync();
        await LoginAsync(host, bob);

        await using var stranger = await FakePdsServer.StartAsync();
        stranger.SigningSecret = "a stranger's own key"u8.ToArray();
        stranger.Host(new FakeAccount(bob.Did, bob.Handle, "mallory@example.com", "pw-mallory"));
        var (status, body) = await PostAsync(host, new { identifier = bob.Did, password = "pw-mallory", service = stranger.Url });
        Assert.Equal((HttpStatusCode.Forbidden, "IdentityUnverified"), (status, body.GetProperty("error").GetString()));

        await using var other = await FakePdsServer.StartAsync();
        other.Host(bob);
        Pds.PdsEndpointInDidDoc = other.Url; // the document now names another PDS
        (status, body) = await PostAsync(host, new { identifier = bob.Handle, password = bob.Password, service = other.Url });
        Assert.Equal((HttpStatusCode.Conflict, "AccountExists"), (status, body.GetProperty("error").GetString()));
        Assert.Equal(Pds.Url, (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{bob.Did}")).GetProperty("pds").GetString());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(SupervisorProcess host, object body)
    {
        using var answer = await host.Http.PostAsJsonAsync("/accounts", body);
        return (answer.StatusCode, await answer.Content.ReadFromJsonAsync<JsonElement>());
    }
}

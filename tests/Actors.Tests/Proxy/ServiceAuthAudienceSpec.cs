using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// getServiceAuth through the supervisor: Bluesky's video recipe names the service a client talks to
/// (<c>did:web:${agent.dispatchUrl.host}</c>), here the supervisor; the PDS is asked for a token for itself, whose
/// service DID its describeServer names. Any other audience goes as it came. (The recipe end to end, with the real
/// client and the real PDS taking the token: <see cref="Clients.AtprotoApiClientSpec"/>.)
/// </summary>
public sealed class ServiceAuthAudienceSpec : FakePdsHostSpec
{
    private const string GetServiceAuth = "com.atproto.server.getServiceAuth";
    private const string DescribeServer = "com.atproto.server.describeServer";

    [Fact]
    public async Task A_service_token_asked_for_the_supervisor_is_asked_of_the_PDS_for_the_PDS_itself()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var supervisor = host.Http.BaseAddress!.Authority; // 127.0.0.1:port, as agent.dispatchUrl.host gives it
        var described = Pds.CallCount(DescribeServer);

        foreach (var aud in new[] { $"did:web:{supervisor}", $"did:web:{supervisor.Replace(":", "%3A")}", $"DID:WEB:{supervisor}" })
        {
            var exp = DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeSeconds();
            using var answer = await host.Http.GetAsync(
                $"/accounts/{alice.Did}/xrpc/{GetServiceAuth}?aud={Uri.EscapeDataString(aud)}&lxm=com.atproto.repo.uploadBlob&exp={exp}");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var token = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
            Assert.Equal(FakePdsServer.ServiceDid, JwtClaims.TryRead(token, out _)?.Audience);
            Assert.Equal($"?aud={Uri.EscapeDataString(FakePdsServer.ServiceDid)}&lxm=com.atproto.repo.uploadBlob&exp={exp}", Pds.LastQuery(GetServiceAuth));
        }
        Assert.Equal(described + 1, Pds.CallCount(DescribeServer)); // learnt once, kept
    }

    [Fact]
    public async Task A_service_token_for_another_service_is_asked_with_the_query_as_it_came()
    {
        await using var host = await StartHostAsync();
        var bob = await LoggedInAsync(host, "bob.test");
        var port = host.Http.BaseAddress!.Port;

        foreach (var aud in new[] { "did:web:video.bsky.app", $"did:web:127.0.0.1:{port + 1}", $"did:web:localhost:{port}", bob.Did })
        {
            var query = $"?aud={Uri.EscapeDataString(aud)}&lxm=app.bsky.video.getUploadLimits";
            using var answer = await host.Http.GetAsync($"/accounts/{bob.Did}/xrpc/{GetServiceAuth}{query}");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(query, Pds.LastQuery(GetServiceAuth));
        }
        Assert.Equal(0, Pds.CallCount(DescribeServer));
    }

    [Fact]
    public async Task A_PDS_that_names_no_service_DID_is_asked_for_no_token_for_the_supervisor()
    {
        await using var host = await StartHostAsync();
        var carol = await LoggedInAsync(host, "carol.test");
        var query = $"?aud={Uri.EscapeDataString("did:web:" + host.Http.BaseAddress!.Authority)}&lxm=com.atproto.repo.uploadBlob";

        // A page instead of JSON: a 502, and the PDS is not asked again for ten seconds; then JSON without a did, a 502 too.
        var before = Pds.CallCount(DescribeServer);
        async Task RefusedAsync(int describeServers)
        {
            using var answer = await host.Http.GetAsync($"/accounts/{carol.Did}/xrpc/{GetServiceAuth}{query}");
            Assert.Equal(HttpStatusCode.BadGateway, answer.StatusCode);
            var error = await answer.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("InvalidResponse", error.GetProperty("error").GetString());
            Assert.Contains("service DID", error.GetProperty("message").GetString());
            Assert.Equal(before + describeServers, Pds.CallCount(DescribeServer));
        }
        Pds.FailNext(DescribeServer, FakeFailure.Html502);
        await RefusedAsync(1);
        await RefusedAsync(1);
        await Task.Delay(Supervisor.Host.Proxy.PdsServiceDids.FailureKeptFor + TimeSpan.FromMilliseconds(500));
        Pds.AnswerWith(DescribeServer, """{"availableUserDomains":[".test"]}"""u8.ToArray(), "application/json");
        await RefusedAsync(2);
        Assert.Equal(0, Pds.CallCount(GetServiceAuth)); // no token with the supervisor as audience was made
    }

    [Fact]
    public async Task A_PDS_that_could_not_be_reached_for_its_service_DID_is_a_502_NetworkError_and_asked_again_next_time()
    {
        await using var host = await StartHostAsync();
        var dina = await LoggedInAsync(host, "dina.test");
        var path = $"/accounts/{dina.Did}/xrpc/{GetServiceAuth}?aud={Uri.EscapeDataString("did:web:" + host.Http.BaseAddress!.Authority)}";

        Pds.FailNext(DescribeServer, FakeFailure.DropConnection);
        using (var lost = await host.Http.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.BadGateway, lost.StatusCode);
            Assert.Equal("NetworkError", (await lost.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        using (var again = await host.Http.GetAsync(path)) Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(2, Pds.CallCount(DescribeServer));
        Assert.Equal(1, Pds.CallCount(GetServiceAuth));
    }

    [Fact]
    public async Task A_PDS_that_does_not_answer_for_its_service_DID_within_request_timeout_is_a_504_Timeout_and_asked_again_next_time()
    {
        await using var host = await StartHostAsync("supervisor.accounts.request-timeout = 2s");
        var fred = await LoggedInAsync(host, "fred.test");
        var path = $"/accounts/{fred.Did}/xrpc/{GetServiceAuth}?aud={Uri.EscapeDataString("did:web:" + host.Http.BaseAddress!.Authority)}";

        Pds.FailNext(DescribeServer, FakeFailure.Hang);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using (var late = await host.Http.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
            Assert.Equal("Timeout", (await late.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        Assert.InRange(System.Diagnostics.Stopwatch.GetElapsedTime(started), TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(10));
        Assert.Equal(0, Pds.CallCount(GetServiceAuth)); // no token with the supervisor as audience was asked for
        // Once the question that hung has ended (a request that comes while it still runs shares its end), the next asks anew.
        await SupervisorSpec.EventuallyAsync(async () =>
        {
            using var again = await host.Http.GetAsync(path);
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(15), "a service token once describeServer answers");
        Assert.Equal(2, Pds.CallCount(DescribeServer));
        Assert.Equal(1, Pds.CallCount(GetServiceAuth));
    }

    [Fact]
    public async Task Requests_that_need_the_PDSs_service_DID_at_once_wait_for_one_describeServer()
    {
        await using var host = await StartHostAsync();
        var erin = await LoggedInAsync(host, "erin.test");
        var path = $"/accounts/{erin.Did}/xrpc/{GetServiceAuth}?aud={Uri.EscapeDataString("did:web:" + host.Http.BaseAddress!.Authority)}";

        Pds.FailNext(DescribeServer, FakeFailure.HeldUntilReleased);
        var first = host.Http.GetAsync(path);
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(DescribeServer) == 1), TimeSpan.FromSeconds(10), "the first describeServer");
        var others = Enumerable.Range(0, 7).Select(_ => host.Http.GetAsync(path)).ToList();
        await Task.Delay(300); // time for the others to ask too, if they would
        Pds.ReleaseHeldAnswers();

        foreach (var answer in await Task.WhenAll(others.Prepend(first)))
            using (answer) Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(1, Pds.CallCount(DescribeServer));
        Assert.Equal(8, Pds.CallCount(GetServiceAuth));
    }
}

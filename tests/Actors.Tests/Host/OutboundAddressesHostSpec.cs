using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// A DID document names its PDS freely: the host sends no token and no request to a PDS on a non-public address outside
/// <c>supervisor.outbound.allow-networks</c>, even when the login service and the PLC directory are inside them.
/// </summary>
public sealed class OutboundAddressesHostSpec : FakePdsHostSpec
{
    /// <summary>An account of the fake PDS (the login service, on 127.0.0.1) whose DID document names a PDS on 127.0.0.2 that hosts it.</summary>
    private async Task<(FakePdsServer Inside, FakeAccount Alice)> AccountAtAPdsOn127002Async()
    {
        var inside = await FakePdsServer.StartAsync("127.0.0.2");
        var alice = Pds.CreateAccount("alice.test", "pw-alice-out");
        inside.Host(alice);
        Pds.PdsEndpointInDidDoc = inside.Url;
        return (inside, alice);
    }

    [Fact]
    public async Task A_DID_document_naming_a_PDS_in_an_unlisted_network_gets_no_token_and_the_login_a_clear_error()
    {
        // The entryway and PLC directory on 127.0.0.1 (listed); the account's document names a PDS on 127.0.0.2 (not listed).
        var (inside, alice) = await AccountAtAPdsOn127002Async();
        await using var _ = inside;
        await using var host = new SupervisorProcess(Folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_HOCON"] = """supervisor.outbound.allow-networks = ["127.0.0.1/32"]""",
        }).VerifyingIdentities(Pds.Url, Pds.Url);
        await host.StartAsync();

        using var answer = await host.Http.PostAsJsonAsync("/accounts", new { identifier = alice.Handle, password = alice.Password, service = Pds.Url });
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(answer.IsSuccessStatusCode, $"login answered {(int)answer.StatusCode}");
        Assert.Contains("127.0.0.2", body.GetProperty("message").GetString());
        Assert.Contains("supervisor.outbound.allow-networks", body.GetProperty("message").GetString());
        Assert.Equal(1, Pds.CallCount("com.atproto.server.createSession"));
        Assert.Equal(0, inside.CallsInAll);

        // Listed, the same PDS is reached: the refusal was the policy's, not the fake's.
        await host.TerminateAsync();
        host.SetEnvironment("SUPERVISOR_HOCON", """supervisor.outbound.allow-networks = ["127.0.0.1/32", "127.0.0.2/32"]""");
        await host.StartAsync();
        await LoginAsync(host, alice);
        Assert.Equal(1, inside.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task A_request_through_the_supervisor_to_a_PDS_in_an_unlisted_network_is_a_502_naming_the_setting()
    {
        // Without identity verification the session answer's didDoc is believed: it names a PDS on 127.0.0.2.
        var (inside, alice) = await AccountAtAPdsOn127002Async();
        await using var _ = inside;
        // An HTTP proxy in the environment, on a listed address, would be the only address checked: it is not used.
        using var proxy = new TcpListener(IPAddress.Loopback, 0);
        proxy.Start();
        var proxyUrl = $"http://127.0.0.1:{((IPEndPoint)proxy.LocalEndpoint).Port}";
        await using var host = new SupervisorProcess(Folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_HOCON"] = """supervisor.outbound.allow-networks = ["127.0.0.1/32"]""",
            ["HTTP_PROXY"] = proxyUrl, ["http_proxy"] = proxyUrl, ["ALL_PROXY"] = proxyUrl,
        });
        await host.StartAsync();
        await LoginAsync(host, alice);

        using var answer = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession");
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((HttpStatusCode.BadGateway, "NetworkError"), (answer.StatusCode, body.GetProperty("error").GetString()));
        Assert.Contains("supervisor.outbound.allow-networks", body.GetProperty("message").GetString());
        Assert.Equal(0, inside.CallsInAll);
        Assert.False(proxy.Pending(), "the host connected to the proxy");
    }

    [Theory]
    [InlineData("SUPERVISOR_HOCON", "supervisor.outbound.allow-networks = [\"10.0.0.0/33\"]", "\"10.0.0.0/33\" is not a network in CIDR notation")]
    [InlineData("SUPERVISOR_HOCON", "supervisor.outbound.nat64-prefixes = [\"10.0.0.0/8\"]", "\"10.0.0.0/8\" is not a NAT64 prefix")]
    [InlineData("SUPERVISOR_HOCON", "supervisor.keys.session-budget = [\"30 every 5m\"]", "supervisor.keys.session-budget: '30 every 5m' is not a budget")]
    [InlineData("SUPERVISOR_HOST_NAMES", "supervisor.example:443", "\"supervisor.example:443\" is not a host name")]
    public async Task A_setting_that_could_not_work_stops_the_start_with_a_message_saying_why(string variable, string value, string why)
    {
        await using var host = new SupervisorProcess(Folder.Folder, new Dictionary<string, string> { [variable] = value });
        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);
        Assert.Contains("the supervisor exited with 1", stopped.Message);
        Assert.Contains("Supervisor cannot start", stopped.Message);
        Assert.Contains(why, stopped.Message);
    }

    [Fact]
    public async Task A_stalling_PDS_gets_at_most_max_connections_per_server_at_once_and_the_calls_beyond_wait_for_one()
    {
        await using var host = await StartHostAsync("supervisor.outbound.max-connections-per-server = 2\nsupervisor.accounts.request-timeout = 15s");
        var alice = await LoggedInAsync(host, "alice.test");
        const string GetSession = "com.atproto.server.getSession";
        var calls = Pds.CallCount(GetSession);

        Pds.FailNext(GetSession, FakeFailure.HeldUntilReleased, times: 3);
        var requests = Enumerable.Range(0, 3).Select(_ => host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")).ToList();
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(GetSession) == calls + 2), TimeSpan.FromSeconds(10), "two calls at the PDS");
        await Task.Delay(500);
        Assert.Equal(calls + 2, Pds.CallCount(GetSession)); // the third waits for one of the two connections

        Pds.ReleaseHeldAnswers();
        foreach (var request in requests)
            using (var answer = await request) Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(calls + 3, Pds.CallCount(GetSession));
    }

    [Fact]
    public void Max_connections_per_server_is_512_unless_set_and_below_one_is_a_configuration_error()
    {
        Assert.Equal(512, Supervisor.Actors.Pds.OutboundAddresses.From(Akka.Configuration.ConfigurationFactory.ParseString("allow-networks = []")).MaxConnectionsPerServer);
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            Supervisor.Actors.Pds.OutboundAddresses.From(Akka.Configuration.ConfigurationFactory.ParseString("max-connections-per-server = 0")));
        Assert.Contains("supervisor.outbound.max-connections-per-server", error.Message);
    }
}

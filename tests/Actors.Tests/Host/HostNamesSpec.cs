using System.Net;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// A page that points its own name at the host's address (DNS rebinding) is refused: the host answers only requests whose
/// Host is an IP address, localhost, a name it listens on or one listed in SUPERVISOR_HOST_NAMES.
/// </summary>
public sealed class HostNamesSpec : FakePdsHostSpec
{
    private static async Task<HttpStatusCode> GetAsync(SupervisorProcess host, string path, string hostHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = hostHeader;
        using var answer = await host.Http.SendAsync(request);
        return answer.StatusCode;
    }

    [Fact]
    public async Task A_request_naming_another_site_in_its_Host_gets_no_answer_from_any_route()
    {
        await using var host = new SupervisorProcess(Folder.Folder, new Dictionary<string, string> { ["SUPERVISOR_HOST_NAMES"] = "supervisor.example" });
        await host.StartAsync();
        foreach (var path in new[] { "/metrics", "/healthz", "/healthz/ready", "/status", "/xrpc/com.atproto.server.describeServer" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(host, path, $"rebound.attacker.example:{host.Port}"));
            Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(host, path, "localhost.attacker.example"));
        }
        foreach (var name in new[] { $"127.0.0.1:{host.Port}", $"[::1]:{host.Port}", $"localhost:{host.Port}", "supervisor.example", "SUPERVISOR.EXAMPLE." })
            Assert.Equal(HttpStatusCode.OK, await GetAsync(host, "/metrics", name));
    }

    [Fact]
    public void The_names_come_from_the_list_the_listen_urls_and_the_nodes_own_names_and_wildcards_name_nothing()
    {
        var allowed = HostNames.Allowed.From(" a.example , b.example. ", ["http://node1:5080", "http://*:5081", "http://+:5082", "http://0.0.0.0:5083", "http://[::]:5084"], ["box", "10.0.0.5"]);
        Assert.Equal(["a.example", "b.example", "box", "node1"], allowed.Names.Order().ToArray());
        Assert.False(allowed.Any);
        Assert.True(allowed.Admits("NODE1"));
        Assert.True(allowed.Admits("10.0.0.7"));
        Assert.False(allowed.Admits("node2"));
        Assert.True(HostNames.Allowed.From("*", [], []).Admits("anything.example"));
    }

    [Theory]
    [InlineData("supervisor.example:443")]
    [InlineData("https://supervisor.example")]
    [InlineData("*.example")]
    public void A_listed_name_that_could_match_nothing_stops_the_start(string entry)
    {
        var error = Assert.Throws<InvalidOperationException>(() => HostNames.Allowed.From(entry, [], []));
        Assert.Contains("SUPERVISOR_HOST_NAMES", error.Message);
    }
}

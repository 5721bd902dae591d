using System.Net;
using System.Net.Sockets;
using System.Text;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The host holds at most <c>supervisor.proxy.max-connections</c> HTTP connections (by default half of its open-file
/// limit): clients that open connections without end, unauthenticated, cannot take the file descriptors that the
/// journal and the calls to the PDSes need. Past the cap a connection is closed as it comes; once some close, new ones
/// are served again, and the accounts go on meanwhile.
/// </summary>
public sealed class ConnectionCapSpec : FakePdsHostSpec
{
    [Fact]
    public void By_default_the_cap_is_half_the_soft_open_file_limit_and_a_configured_one_wins()
    {
        string[] limits =
        [
            "Limit                     Soft Limit           Hard Limit           Units     ",
            "Max processes             95413                95413                processes ",
            "Max open files            20000                40000                files     ",
        ];
        Assert.Equal(20000, ConnectionCap.Parse(limits));
        Assert.Equal(10000, ConnectionCap.Of(0, ConnectionCap.Parse(limits)));
        Assert.Equal(500, ConnectionCap.Of(500, 20000));
        Assert.Null(ConnectionCap.Of(0, ConnectionCap.Parse(["Max open files            unlimited            unlimited            files     "])));
        Assert.Null(ConnectionCap.Of(0, null));
        Assert.NotNull(ConnectionCap.OpenFileLimit()); // read from this process, on Linux
    }

    [Fact]
    public async Task Past_the_cap_a_connection_is_closed_as_it_comes_and_served_again_once_others_close()
    {
        await using var host = await StartHostAsync("supervisor.proxy.max-connections = 8");
        var alice = await LoggedInAsync(host, "alice.test");
        Assert.Contains("at most 8 HTTP connections", host.Output);

        // Eight connections that send half a request head and wait, as a slow or hostile client does.
        var held = new List<TcpClient>();
        for (var i = 0; i < 8; i++)
        {
            var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, host.Http.BaseAddress!.Port);
            await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
            held.Add(socket);
        }
        await Task.Delay(500);
        using (var refused = new HttpClient { BaseAddress = host.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) })
            await Assert.ThrowsAsync<HttpRequestException>(() => refused.GetAsync("/healthz"));

        foreach (var socket in held) socket.Dispose();
        await SupervisorSpec.EventuallyAsync(async () =>
        {
            using var client = new HttpClient { BaseAddress = host.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            try
            {
                return (await client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15), "served again");
        using var status = await host.Http.GetAsync($"/accounts/{alice.Did}");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
    }
}

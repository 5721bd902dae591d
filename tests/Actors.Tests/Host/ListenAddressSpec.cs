using System.Net;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// Without an explicit admin token (one generated into the data folder) the host listens on loopback only: asked to
/// listen on every interface it stops with a message saying why; with SUPERVISOR_ADMIN_TOKEN set it listens there.
/// </summary>
public sealed class ListenAddressSpec : FakePdsHostSpec
{
    [Fact]
    public async Task Without_an_explicit_admin_token_the_host_refuses_to_listen_beyond_loopback()
    {
        await using var everywhere = new SupervisorProcess(Folder.Folder);
        everywhere.ListenUrls = $"http://0.0.0.0:{everywhere.Port}";
        everywhere.SetEnvironment("SUPERVISOR_ADMIN_TOKEN", null);
        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(everywhere.StartAsync);
        Assert.Contains($"refusing to listen on http://0.0.0.0:{everywhere.Port} (not loopback) without an explicit SUPERVISOR_ADMIN_TOKEN", stopped.Message);
        Assert.True(File.Exists(Path.Combine(Folder.Folder, "admin-token")), "the token it generated");

        everywhere.SetEnvironment("SUPERVISOR_ADMIN_TOKEN", everywhere.AdminToken);
        await everywhere.StartAsync();
        using var answer = await everywhere.Http.GetAsync("/status");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task An_admin_token_or_operator_password_set_shorter_than_24_characters_stops_the_start_saying_so()
    {
        foreach (var name in new[] { "SUPERVISOR_ADMIN_TOKEN", "SUPERVISOR_OPERATOR_PASSWORD" })
        {
            await using var host = new SupervisorProcess(Folder.Folder);
            host.SetEnvironment(name, "short-but-23-characters");
            var stopped = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);
            Assert.Contains($"{name} is shorter than 24 characters", stopped.Message);
        }
    }
}

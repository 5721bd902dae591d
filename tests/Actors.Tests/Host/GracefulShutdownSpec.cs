using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>SIGTERM on the host process: a refresh in flight finishes and is journaled before the exit.</summary>
public sealed class GracefulShutdownSpec : FakePdsHostSpec
{
    [Fact]
    public async Task Sigterm_lets_a_refresh_in_flight_finish_and_journals_it()
    {
        var account = Pds.CreateAccount("term.test", "pw-term");
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        await LoginAsync(host, account);

        Pds.RefreshLatency = TimeSpan.FromSeconds(2);
        var refresh = host.Http.PostAsync($"/accounts/{account.Did}/refresh", null);
        await EventuallyInFlight();
        Assert.Equal(0, await host.TerminateAsync());
        await refresh.ContinueWith(_ => { }, TaskScheduler.Default);

        var rows = JournalRows.Read(Folder, AccountSessionActor.PersistenceIdFor(account.Did));
        Assert.Equal(["SessionEstablished.v2", "RefreshStarted.v1", "SessionRefreshed.v2"], rows.Select(r => r.Manifest));
        Assert.Contains("Shutdown: 1 accounts drained", host.Output);

        Pds.RefreshLatency = TimeSpan.Zero;
        await host.StartAsync();
        var status = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
        Assert.Equal("Active", status.GetProperty("state").GetString());
        Assert.Equal(1, status.GetProperty("refreshCount").GetInt32());
        Assert.Equal(1, Pds.CallCount("com.atproto.server.refreshSession"));
    }

    private async Task EventuallyInFlight()
    {
        for (var i = 0; i < 100 && Pds.CallCount("com.atproto.server.refreshSession") == 0; i++) await Task.Delay(50);
        Assert.Equal(1, Pds.CallCount("com.atproto.server.refreshSession"));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The account pages of the host as a process, against a fake PDS: the history is read from the journal's database, so a restart keeps it.</summary>
public sealed class AccountHistoryRestartSpec : FakePdsHostSpec
{
    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task An_accounts_history_survives_a_restart_and_its_page_shows_the_stored_events(JournalKind kind)
    {
        using var postgres = kind == JournalKind.Postgres ? new TestJournal(JournalKind.Postgres) : null;
        var journal = postgres ?? Folder;
        var environment = journal.HostEnvironment();
        // Nothing is written on the way: only the graceful stop writes what waits.
        environment["SUPERVISOR_HOCON"] = "supervisor.history.write-interval = 1h";
        await using var host = new SupervisorProcess(journal.Folder, environment);
        await host.StartAsync();
        await host.WaitUntilAccountsServeAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        using (var refresh = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);

        Assert.Equal(0, await host.TerminateAsync());
        await host.StartAsync();
        await host.WaitUntilAccountsServeAsync();

        var page = await host.Http.GetStringAsync(StatusPage.AccountPath(alice.Did));
        var events = Regex.Matches(page, "<tr><td>[^<]*</td><td[^>]*>([^<]*)</td>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["refreshed", "created"], events);
        Assert.Contains($"<td>127.0.0.1:", page); // the node that wrote them
        Assert.Contains("kept in the journal's database", page);
    }
}

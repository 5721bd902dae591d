using System.Text.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// Accounts whose access tokens expire together do not refresh together: each account's refresh ahead of expiry is set
/// with a jitter of its own, over the second half of its margin (a quarter of a short token's lifetime).
/// </summary>
public sealed class RefreshJitterSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    [Fact]
    public async Task Accounts_whose_tokens_expire_together_refresh_at_times_spread_over_the_second_half_of_the_margin()
    {
        // 40 s access tokens: a margin of 10 s, so each refresh is due between 10 and 5 s before its token expires.
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(40);
        var accounts = new List<(string Did, DateTimeOffset ExpiresAt)>();
        for (var i = 0; i < 20; i++)
        {
            var account = Pds.CreateAccount($"jitter{i}.test", $"pw-jitter{i}");
            var status = await LoginAsync(Pds.Url, account.Handle, account.Password);
            // A request makes it active: refreshed ahead of its access token (an idle one only for its keep-alive).
            Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
            accounts.Add((account.Did, status.AccessExpiresAt!.Value));
        }
        await EventuallyAsync(async () =>
        {
            foreach (var (did, _) in accounts)
                if ((await StatusAsync(did)).RefreshCount == 0) return false;
            return true;
        }, TimeSpan.FromSeconds(120), "every account's first refresh");

        // How long before its token's expiry each first refresh started, as journaled (not a poll's wall clock).
        var leads = accounts.Select(a => (a.ExpiresAt - FirstRefreshStarted(a.Did)).TotalSeconds).ToList();
        Assert.All(leads, lead => Assert.True(lead is > 1 and <= 10.05, $"a refresh started {lead:0.00} s before its token's expiry, outside the margin"));
        // Uniform over 5 s, twenty of them span about 4.5 s; without the jitter all start at one lead, a few ms apart.
        var spread = leads.Max() - leads.Min();
        Assert.True(spread >= 2, $"the twenty refreshes started within {spread:0.000} s of the same lead before expiry");
    }

    private DateTimeOffset FirstRefreshStarted(string did)
    {
        var started = JournalRows.Read(Journal, AccountSessionActor.PersistenceIdFor(did))
            .First(r => r.Manifest.StartsWith("RefreshStarted.", StringComparison.Ordinal));
        return JsonDocument.Parse(started.Payload).RootElement.GetProperty("at").GetDateTimeOffset();
    }
}

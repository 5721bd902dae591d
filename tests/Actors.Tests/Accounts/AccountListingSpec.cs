using Supervisor.Actors.Accounts;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>Listings by message (<see cref="ListAccounts"/>, <see cref="GetAccountCounts"/>) against the accounts supervisor and a fake PDS.</summary>
public sealed class AccountListingSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private async Task<AccountList> PageAsync(ListAccounts query) => Assert.IsType<AccountList>(await AskAsync(query));

    /// <summary>A registry bucket that does not answer fails the counts as the ask's timeout (the host's 504), not as an error inside the supervisor (500).</summary>
    [Fact]
    public async Task Counts_with_a_registry_bucket_that_does_not_answer_fail_as_a_timeout()
    {
        var silent = CreateTestProbe();
        await Assert.ThrowsAsync<Akka.Actor.AskTimeoutException>(() => AccountsSupervisor.CountAsync(silent.Ref, 4, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Paging_lists_every_account_that_matches_throughout_exactly_once_while_others_are_added_and_removed()
    {
        var steady = new List<string>();
        for (var i = 0; i < 12; i++) steady.Add((await LoggedInAsync($"steady{i}.test")).Did);
        var leaving = new List<string>();
        for (var i = 0; i < 6; i++) leaving.Add((await LoggedInAsync($"leaving{i}.test")).Did);

        await EventuallyAsync(async () => Assert.IsType<AccountCounts>(await AskAsync(GetAccountCounts.Instance)).ByState[AccountStateName.Active] == 18,
            TimeSpan.FromSeconds(10), "every account to be listed as Active");

        // Active accounts, 4 a page; between pages one account logs out (it no longer matches) and one new account logs in.
        var query = new ListAccounts(State: AccountStateName.Active, Limit: 4);
        var listed = new List<string>();
        var added = new List<string>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var page = await PageAsync(query with { Cursor = cursor });
            Assert.True(page.Accounts.Count <= 4);
            Assert.All(page.Accounts, a => Assert.Equal(AccountStateName.Active, a.State));
            listed.AddRange(page.Accounts.Select(a => a.Did));
            cursor = page.NextCursor;
            if (pages < leaving.Count)
            {
                Assert.IsType<LoggedOut>(await AskAsync(new Logout(leaving[pages])));
                added.Add((await LoggedInAsync($"added{pages}.test")).Did);
            }
            pages++;
        } while (cursor is not null);

        Assert.True(pages >= 4, $"{pages} pages");
        Assert.Equal(listed.Count, listed.Distinct().Count()); // nothing twice
        Assert.Equal(listed.Order(StringComparer.Ordinal), listed); // in DID order
        Assert.All(steady, did => Assert.Contains(did, listed)); // everything that matched throughout
        // Whatever else was listed matched when its page was read: a leaving account (before it left) or an added one.
        Assert.All(listed.Except(steady), did => Assert.True(leaving.Contains(did) || added.Contains(did), did));
    }

    [Fact]
    public async Task Pages_filter_by_state_and_text_and_counts_come_without_a_listing()
    {
        var alice = await LoggedInAsync("alice-filter.test");
        var bob = await LoggedInAsync("bob-filter.test");
        Pds.RevokeAllRefreshTokens(bob.Did);
        Assert.Equal(AccountStateName.NeedsLogin, Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(bob.Did))).Status.State);
        // Listings read the registry, which the account tells its new state as it answers: the two may cross.
        await EventuallyAsync(async () => (await PageAsync(new ListAccounts(State: AccountStateName.NeedsLogin))).Accounts.Count == 1,
            TimeSpan.FromSeconds(5), "the registry to hear of the state");

        Assert.Equal([bob.Did], (await PageAsync(new ListAccounts(State: AccountStateName.NeedsLogin))).Accounts.Select(a => a.Did));
        Assert.Equal([alice.Did], (await PageAsync(new ListAccounts(Query: "ALICE-F"))).Accounts.Select(a => a.Did));
        Assert.Equal([bob.Did], (await PageAsync(new ListAccounts(Query: bob.Did[^6..]))).Accounts.Select(a => a.Did));
        // ("bob-filter": a random did:plc, base32 letters and digits, may hold "bob" but never a hyphen.)
        Assert.Empty((await PageAsync(new ListAccounts(State: AccountStateName.Active, Query: "bob-filter"))).Accounts);

        var counts = Assert.IsType<AccountCounts>(await AskAsync(GetAccountCounts.Instance));
        Assert.Equal((2, 1, 1, 0), (counts.Total, counts.ByState[AccountStateName.Active], counts.ByState[AccountStateName.NeedsLogin], counts.ByState[AccountStateName.TakenDown]));
        Assert.Equal(2, counts.Running + counts.Passivated);
    }

    [Fact]
    public async Task A_cursor_the_supervisor_did_not_make_or_a_limit_out_of_range_is_answered_as_an_invalid_query()
    {
        await LoggedInAsync("carol-invalid.test");
        foreach (var query in new[] { new ListAccounts(Cursor: "definitely not a cursor"), new ListAccounts(Limit: 0), new ListAccounts(Limit: AccountPage.MaxLimit + 1) })
            Assert.Equal("InvalidRequest", Assert.IsType<InvalidQuery>(await AskAsync(query)).Error.Error);
    }
}

using Supervisor.Actors.Accounts;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>The pure rules of paged listings: matching, pages in DID order, cursors, and merging the pages of several holders.</summary>
public sealed class AccountPageSpec
{
    private static AccountStatus Status(string did, string? handle = null, AccountStateName state = AccountStateName.Active) =>
        new(did, handle, null, null, state, null, null, null, null, 0, 0, null, 0);

    private static List<AccountStatus> Ordered(IEnumerable<AccountStatus> statuses) => statuses.OrderBy(s => s.Did, StringComparer.Ordinal).ToList();

    /// <summary>Every page of <paramref name="query"/> over <paramref name="statuses"/>, following the cursors.</summary>
    private static List<AccountList> AllPages(IReadOnlyList<AccountStatus> statuses, ListAccounts query)
    {
        var pages = new List<AccountList>();
        do
        {
            pages.Add(AccountPage.Page(statuses, query));
            query = query with { Cursor = pages[^1].NextCursor };
        } while (query.Cursor is not null);
        return pages;
    }

    [Fact]
    public void A_query_matches_the_handle_or_the_DID_in_any_case_and_the_state_exactly()
    {
        var alice = Status("did:plc:AAA111", "Alice.Example.com", AccountStateName.NeedsLogin);
        Assert.True(AccountPage.Matches(alice, new ListAccounts(Query: "alice.example")));
        Assert.True(AccountPage.Matches(alice, new ListAccounts(Query: "aaa1")));
        Assert.True(AccountPage.Matches(alice, new ListAccounts(State: AccountStateName.NeedsLogin, Query: "ALICE")));
        Assert.False(AccountPage.Matches(alice, new ListAccounts(State: AccountStateName.Active)));
        Assert.False(AccountPage.Matches(alice, new ListAccounts(Query: "bob")));
        Assert.False(AccountPage.Matches(Status("did:plc:nohandle"), new ListAccounts(Query: "alice")));
        Assert.True(AccountPage.Matches(alice, ListAccounts.Instance));
    }

    [Fact]
    public void Pages_list_every_matching_account_once_in_ordinal_DID_order_and_the_last_page_has_no_cursor()
    {
        // Ordinal order: upper case before lower case, "did:plc:a10" before "did:plc:a9".
        var statuses = Ordered(Enumerable.Range(0, 23).Select(i => Status($"did:plc:a{i}", $"user{i}.test", i % 3 == 0 ? AccountStateName.Degraded : AccountStateName.Active))
            .Append(Status("did:plc:Zed", "zed.test")));
        var pages = AllPages(statuses, new ListAccounts(Limit: 5));

        Assert.Equal(statuses.Select(s => s.Did), pages.SelectMany(p => p.Accounts).Select(s => s.Did));
        Assert.Equal([5, 5, 5, 5, 4], pages.Select(p => p.Accounts.Count));
        Assert.Null(pages[^1].NextCursor);
        Assert.All(pages[..^1], p => Assert.NotNull(p.NextCursor));

        var degraded = AllPages(statuses, new ListAccounts(State: AccountStateName.Degraded, Limit: 4)).SelectMany(p => p.Accounts).ToList();
        Assert.Equal(statuses.Where(s => s.State == AccountStateName.Degraded).Select(s => s.Did), degraded.Select(s => s.Did));
    }

    [Fact]
    public void A_page_that_ends_exactly_at_the_last_match_has_no_cursor()
    {
        var statuses = Ordered(Enumerable.Range(0, 6).Select(i => Status($"did:plc:b{i}")));
        var page = AccountPage.Page(statuses, new ListAccounts(Limit: 6));
        Assert.Equal(6, page.Accounts.Count);
        Assert.Null(page.NextCursor);
        Assert.NotNull(AccountPage.Page(statuses, new ListAccounts(Limit: 5)).NextCursor);
    }

    [Fact]
    public void A_cursor_stays_valid_when_its_account_and_others_are_removed_or_added()
    {
        var statuses = Ordered(Enumerable.Range(0, 10).Select(i => Status($"did:plc:c{i}")));
        var first = AccountPage.Page(statuses, new ListAccounts(Limit: 3));
        Assert.Equal(["did:plc:c0", "did:plc:c1", "did:plc:c2"], first.Accounts.Select(a => a.Did));

        // c2 (the cursor's own account) and c3 leave; c1a (before the cursor) and c2a (after it) arrive.
        var changed = Ordered(statuses.Where(s => s.Did is not ("did:plc:c2" or "did:plc:c3"))
            .Append(Status("did:plc:c1a")).Append(Status("did:plc:c2a")));
        var second = AccountPage.Page(changed, new ListAccounts(Limit: 3, Cursor: first.NextCursor));
        Assert.Equal(["did:plc:c2a", "did:plc:c4", "did:plc:c5"], second.Accounts.Select(a => a.Did));
    }

    [Fact]
    public void A_cursor_names_the_last_DID_in_base64url_and_anything_else_is_an_invalid_request()
    {
        var cursor = AccountPage.EncodeCursor("did:plc:abc");
        Assert.True(AccountPage.TryDecodeCursor(cursor, out var did));
        Assert.Equal("did:plc:abc", did);
        Assert.DoesNotContain('=', cursor);

        foreach (var bad in new[] { "", "!!!", "not base64 at all", AccountPage.EncodeCursor("did:plc:abc") + "==", Convert.ToBase64String("hello"u8), "_w" })
        {
            Assert.False(AccountPage.TryDecodeCursor(bad, out _), bad);
            var error = AccountPage.Validate(new ListAccounts(Cursor: bad));
            Assert.Equal("InvalidRequest", error?.Error);
        }
        Assert.Null(AccountPage.Validate(new ListAccounts(Cursor: cursor)));
    }

    [Fact]
    public void A_limit_outside_1_to_1000_is_an_invalid_request()
    {
        Assert.Equal(100, ListAccounts.Instance.Limit);
        foreach (var limit in new[] { 0, -1, 1_001, int.MaxValue })
            Assert.Equal("InvalidRequest", AccountPage.Validate(new ListAccounts(Limit: limit))?.Error);
        foreach (var limit in new[] { 1, 1_000 })
            Assert.Null(AccountPage.Validate(new ListAccounts(Limit: limit)));
        Assert.Throws<ArgumentException>(() => AccountPage.Page([], new ListAccounts(Limit: 0)));
    }

    [Fact]
    public void Merged_pages_of_several_holders_list_every_account_once_as_one_holder_would()
    {
        // Three holders (registry buckets) share 40 accounts by DID; merging their pages of each query gives the pages of the whole.
        var all = Ordered(Enumerable.Range(0, 40).Select(i => Status($"did:plc:m{i:D2}{(char)('a' + i % 7)}", $"h{i}.test", i % 4 == 0 ? AccountStateName.NeedsLogin : AccountStateName.Active)));
        var holders = Enumerable.Range(0, 3).Select(b => all.Where((_, i) => (i * 7 + i / 5) % 3 == b).ToList()).ToList();
        foreach (var query in new[] { new ListAccounts(Limit: 6), new ListAccounts(State: AccountStateName.NeedsLogin, Limit: 2), new ListAccounts(Query: "H1", Limit: 3), new ListAccounts(Limit: 1_000) })
        {
            var merged = new List<AccountList>();
            var q = query;
            do
            {
                merged.Add(AccountPage.Merge(holders.Select(h => AccountPage.Page(h, q)), q));
                q = q with { Cursor = merged[^1].NextCursor };
            } while (q.Cursor is not null);
            var whole = AllPages(all, query);
            Assert.Equal(whole.Select(p => p.Accounts.Select(a => a.Did).ToList()), merged.Select(p => p.Accounts.Select(a => a.Did).ToList()));
            Assert.Equal(whole.Select(p => p.NextCursor), merged.Select(p => p.NextCursor));
        }
    }

    [Fact]
    public void Merging_drops_a_DID_listed_by_two_holders_and_keeps_the_cursor_of_a_holder_with_more()
    {
        var query = new ListAccounts(Limit: 2);
        var full = new AccountList([Status("did:plc:a"), Status("did:plc:b")], AccountPage.EncodeCursor("did:plc:b"));
        var empty = new AccountList([]);
        var merged = AccountPage.Merge([full, empty], query);
        Assert.Equal(["did:plc:a", "did:plc:b"], merged.Accounts.Select(a => a.Did));
        Assert.Equal(AccountPage.EncodeCursor("did:plc:b"), merged.NextCursor);

        var moving = AccountPage.Merge([new AccountList([Status("did:plc:a")]), new AccountList([Status("did:plc:a")])], query);
        Assert.Equal(["did:plc:a"], moving.Accounts.Select(a => a.Did));
        Assert.Null(moving.NextCursor);
    }

    [Fact]
    public void Counts_list_every_state_and_add_up_over_holders()
    {
        var one = AccountPage.Count([Status("did:plc:a"), Status("did:plc:b", state: AccountStateName.NeedsLogin) with { UnjournaledEvents = 2 }], running: 1, passivated: 1);
        Assert.Equal(Enum.GetValues<AccountStateName>().Length, one.ByState.Count);
        Assert.Equal((2, 1, 1, 0, 2), (one.Total, one.ByState[AccountStateName.Active], one.ByState[AccountStateName.NeedsLogin], one.ByState[AccountStateName.TakenDown], one.UnjournaledEvents));

        var two = AccountPage.Count([Status("did:plc:c", state: AccountStateName.NeedsLogin)], running: 0, passivated: 1);
        var sum = AccountPage.MergeCounts([one, two]);
        Assert.Equal((3, 1, 2, 1, 2, 2), (sum.Total, sum.ByState[AccountStateName.Active], sum.ByState[AccountStateName.NeedsLogin], sum.Running, sum.Passivated, sum.UnjournaledEvents));
    }
}

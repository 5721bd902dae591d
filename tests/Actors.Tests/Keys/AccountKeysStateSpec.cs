using Supervisor.Actors.Keys;
using static Supervisor.Actors.Keys.KeyEvents;

namespace Supervisor.Actors.Tests.Keys;

/// <summary>The keys' rule (<see cref="AccountKeysState"/>): what the key events make of the keys and their sessions.</summary>
public sealed class AccountKeysStateSpec
{
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_key_keeps_at_most_its_share_of_sessions_and_past_it_the_least_used_one_goes()
    {
        var state = AccountKeysState.Empty
            .Apply(new KeyIssued("key-a", Did, "bot", "hash-a", null, [], "admin", At))
            .Apply(new KeyIssued("key-b", Did, "other", "hash-b", null, [], "admin", At));
        state = state.Apply(new KeySessionOpened("b-1", "key-b", "jti", At.AddDays(90), At));
        // A client that logs in at every run: 150 sessions, the first one refreshed (in use), the others never.
        for (var i = 0; i < 150; i++)
        {
            var at = At.AddMinutes(5 * i);
            state = state.Apply(new KeySessionOpened($"a-{i:000}", "key-a", "jti", at.AddDays(90), at));
            if (i == 0) state = state.Apply(new KeySessionRotated("a-000", "jti-2", at.AddMinutes(1)));
        }
        var kept = state.Sessions.Values.Where(s => s.KeyId == "key-a").Select(s => s.Sid).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(AccountKeysState.MostSessionsPerKey, kept.Count);
        Assert.Contains("a-000", kept); // refreshed: in use
        Assert.Contains("a-149", kept); // the newest
        Assert.Equal(["a-000", .. Enumerable.Range(51, 99).Select(i => $"a-{i:000}")], kept); // the oldest unused went
        Assert.True(state.Sessions.ContainsKey("b-1"), "another key's session is not counted");
    }

    [Fact]
    public void Past_100_sessions_all_refreshed_the_one_refreshed_longest_ago_goes_not_the_first_to_expire()
    {
        var state = AccountKeysState.Empty.Apply(new KeyIssued("key-a", Did, "bot", "hash-a", null, [], "admin", At));
        // 100 sessions, the first opened (first to expire) refreshed last, the last opened refreshed first.
        for (var i = 0; i < 100; i++) state = state.Apply(new KeySessionOpened($"a-{i:000}", "key-a", "jti", At.AddDays(90).AddMinutes(i), At.AddMinutes(i)));
        for (var i = 99; i >= 0; i--) state = state.Apply(new KeySessionRotated($"a-{i:000}", "jti-2", At.AddHours(3).AddMinutes(99 - i)));

        state = state.Apply(new KeySessionOpened("a-new", "key-a", "jti", At.AddDays(91), At.AddHours(5)));
        Assert.False(state.Sessions.ContainsKey("a-099"), "the session refreshed longest ago was kept");
        Assert.True(state.Sessions.ContainsKey("a-000"), "the first to expire went, though refreshed last");
        Assert.True(state.Sessions.ContainsKey("a-new"));
        Assert.Equal(100, state.Sessions.Count);
    }
}

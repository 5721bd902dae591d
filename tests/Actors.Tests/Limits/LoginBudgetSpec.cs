using Akka.Configuration;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Limits;

/// <summary>The login budget's pure rules and its configuration.</summary>
public sealed class LoginBudgetSpec
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly BudgetWindow[] Standard = [new(30, TimeSpan.FromMinutes(5)), new(300, TimeSpan.FromDays(1))];

    [Fact]
    public void Thirty_logins_in_five_minutes_fit_and_the_next_waits_until_the_oldest_leaves_the_window()
    {
        var attempts = Enumerable.Range(0, 30).Select(i => Now.AddSeconds(-290 + i)).ToList();
        Assert.Null(LoginBudget.RetryAt(attempts.Take(29).ToList(), Now, Standard));
        var refused = LoginBudget.RetryAt(attempts, Now, Standard);
        Assert.NotNull(refused);
        Assert.Equal(attempts[0] + TimeSpan.FromMinutes(5), refused.Value.At);
        Assert.Equal(30, refused.Value.Spent.Limit);
        Assert.Null(LoginBudget.RetryAt(attempts, refused.Value.At, Standard));
    }

    [Fact]
    public void The_daily_budget_holds_even_when_every_five_minute_window_has_room()
    {
        // 300 attempts spread over the last 20 hours: never more than 30 in 5 minutes.
        var attempts = Enumerable.Range(0, 300).Select(i => Now.AddHours(-20).AddMinutes(4 * i)).ToList();
        var refused = LoginBudget.RetryAt(attempts, Now, Standard);
        Assert.NotNull(refused);
        Assert.Equal(300, refused.Value.Spent.Limit);
        Assert.Equal(attempts[0] + TimeSpan.FromDays(1), refused.Value.At);
    }

    [Fact]
    public void The_key_ignores_case_and_holds_neither_the_identifier_nor_the_host()
    {
        var key = LoginBudget.Key("https://bsky.social", "Alice@Example.com");
        Assert.Equal(key, LoginBudget.Key("https://BSKY.social/", " alice@example.com "));
        Assert.NotEqual(key, LoginBudget.Key("https://other.host", "alice@example.com"));
        Assert.NotEqual(key, LoginBudget.Key("https://bsky.social", "bob@example.com"));
        Assert.DoesNotContain("alice", key);
        Assert.Matches("^[0-9a-f]{32}$", key);
    }

    [Fact]
    public void Budgets_are_read_per_service_from_hocon()
    {
        var settings = LoginBudgetSettings.From(ConfigurationFactory.ParseString("""
            default = ["10 per 90s", "50 per 2h"]
            services { "bsky.social" = ["30 per 5m", "100 per 1d"] }
            """));
        Assert.Equal([new BudgetWindow(10, TimeSpan.FromSeconds(90)), new BudgetWindow(50, TimeSpan.FromHours(2))], settings.For("http://127.0.0.1:2583"));
        Assert.Equal([new BudgetWindow(30, TimeSpan.FromMinutes(5)), new BudgetWindow(100, TimeSpan.FromDays(1))], settings.For("https://bsky.social"));
        Assert.Equal(TimeSpan.FromDays(1), settings.Longest);
        Assert.Equal("100 per 1d", settings.For("https://bsky.social")[1].ToString());
    }

    [Fact]
    public void The_shipped_configuration_allows_300_logins_a_day_and_100_at_bsky_social()
    {
        // What the host loads: hocon/supervisor.conf, with no override.
        var budget = SupervisorConfig.AccountSettingsOf(SupervisorConfig.Load(JournalKind.Sqlite, "Data Source=unused.db", [TestJournal.TestKey])).LoginBudget;
        var fiveMinutes = new BudgetWindow(30, TimeSpan.FromMinutes(5));
        Assert.Equal([fiveMinutes, new BudgetWindow(300, TimeSpan.FromDays(1))], budget.For("http://127.0.0.1:2583"));
        Assert.Equal([fiveMinutes, new BudgetWindow(100, TimeSpan.FromDays(1))], budget.For("https://bsky.social"));

        // One identifier logging in every 4 minutes (never 30 in 5 minutes) on a clock of its own: the 101st, and the 301st elsewhere, is refused.
        Assert.Equal(100, AllowedInADay("https://bsky.social"));
        Assert.Equal(300, AllowedInADay("https://pds.example.com"));

        int AllowedInADay(string service)
        {
            var attempts = new List<DateTimeOffset>();
            for (var clock = Now; clock < Now.AddDays(1); clock = clock.AddMinutes(4))
            {
                if (LoginBudget.RetryAt(attempts, clock, budget.For(service)) is { } refused)
                {
                    Assert.Equal(TimeSpan.FromDays(1), refused.Spent.Window);
                    Assert.Equal(attempts[0].AddDays(1), refused.At);
                    return attempts.Count;
                }
                attempts.Add(clock);
            }
            return attempts.Count;
        }
    }

    [Theory]
    [InlineData("30 per")]
    [InlineData("thirty per 5m")]
    [InlineData("30 per 5 minutes")]
    [InlineData("0 per 5m")]
    [InlineData("30 per 5y")]
    public void A_malformed_budget_is_refused_with_its_expected_form(string text)
    {
        var message = Assert.Throws<FormatException>(() => BudgetWindow.Parse(text)).Message;
        Assert.True(message.Contains("\"30 per 5m\"") || message.Contains("such as 5m or 1d"), message);
    }
}

using System.Text;
using Supervisor.Actors.Account;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// The timing rules are total and have a floor: no claims, settings or jitter make them throw, and no token
/// schedules a refresh sooner than min-refresh-interval; a refresh answer whose tokens cannot serve is a
/// transient failure, retried with backoff.
/// </summary>
public sealed class AccountRulesBoundsSpec
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly AccountSettings Settings = new();

    private static SessionTokens Pair(DateTimeOffset accessExp, DateTimeOffset refreshExp, DateTimeOffset iat) =>
        SessionTokens.From(TestJwt.Access(Did, accessExp, iat: iat), TestJwt.Refresh(Did, refreshExp, iat));

    private static XrpcResponse Refreshed(SessionTokens tokens) => XrpcResponse.From(200, Encoding.UTF8.GetBytes(
        $$"""{"did":"{{Did}}","handle":"alice.test","accessJwt":"{{tokens.AccessJwt}}","refreshJwt":"{{tokens.RefreshJwt}}","active":true}"""), "application/json", null);

    public static TheoryData<DateTimeOffset, DateTimeOffset?> ExtremeClaims => new()
    {
        { DateTimeOffset.MinValue, null },
        { DateTimeOffset.MinValue, DateTimeOffset.MaxValue },
        { DateTimeOffset.MaxValue, DateTimeOffset.MinValue },
        { DateTimeOffset.MaxValue, null },
        { Now.AddYears(-20), Now.AddYears(-21) },
    };

    [Theory]
    [MemberData(nameof(ExtremeClaims))]
    public void The_next_refresh_is_never_before_the_floor_and_never_throws_for_any_claims(DateTimeOffset exp, DateTimeOffset? iat)
    {
        var claims = new JwtClaims("at+jwt", Did, null, null, iat, exp, "jti");
        var tokens = WithClaims(claims);
        foreach (var active in new DateTimeOffset?[] { Now, null })
        foreach (var jitter in new[] { 0.0, 0.999, double.NaN, -5, 5 })
        {
            var due = AccountRules.NextRefreshAt(tokens, Now, active, jitter, Settings);
            Assert.True(due >= Now + Settings.MinRefreshInterval, $"due {due:O} is before the floor");
        }
        Assert.Equal(exp <= Now, AccountRules.AccessExpired(tokens, Now, Settings));
    }

    [Fact]
    public void A_token_that_has_already_expired_is_refreshed_after_the_floor_not_at_once()
    {
        var expired = Pair(Now.AddMinutes(-1), Now.AddSeconds(-30), Now.AddHours(-2));
        Assert.Equal(Now + Settings.MinRefreshInterval, AccountRules.NextRefreshAt(expired, Now, Now, 0.5, Settings));
        var floor = Settings with { MinRefreshInterval = TimeSpan.FromSeconds(7) };
        Assert.Equal(Now + TimeSpan.FromSeconds(7), AccountRules.NextRefreshAt(expired, Now, null, 0.5, floor));
    }

    [Fact]
    public void A_server_handing_out_tokens_that_live_seconds_is_refreshed_once_a_minute_at_most_whatever_their_iat()
    {
        // Four-second tokens, as a hostile or broken server may hand out: their own schedule would refresh every three
        // seconds (each refresh two writes to the journal every account shares). The default floor counts from when the
        // supervisor received the pair, by its own clock: an iat backdated by a day changes nothing.
        var defaults = new AccountSettings();
        foreach (var iat in new[] { Now, Now.AddDays(-1) })
        {
            var tokens = Pair(Now.AddSeconds(4), Now.AddSeconds(12), iat);
            foreach (var active in new DateTimeOffset?[] { Now, null })
            {
                Assert.Equal(Now.AddMinutes(1), AccountRules.NextRefreshAt(tokens, Now, active, 0.5, defaults, receivedAt: Now));
                Assert.Equal(Now.AddMinutes(1), AccountRules.NextRefreshAt(tokens, Now.AddSeconds(20), active, 0.5, defaults, receivedAt: Now));
            }
        }
        Assert.Equal(TimeSpan.FromMinutes(1), AccountSettings.From(Akka.Configuration.ConfigurationFactory.ParseString(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "supervisor.conf"))).GetConfig("supervisor.accounts")).MinRefreshInterval);
    }

    [Fact]
    public void A_pair_held_since_before_a_long_stop_is_refreshed_within_a_second_not_after_the_floor()
    {
        // A 90-day refresh token with 30 s left, received two months ago: a minute's floor from now would lose the session.
        var tokens = Pair(Now.AddDays(-1), Now.AddSeconds(30), Now.AddDays(-90).AddSeconds(30));
        foreach (var active in new DateTimeOffset?[] { Now, null })
            Assert.Equal(Now.AddSeconds(1), AccountRules.NextRefreshAt(tokens, Now, active, 0.5, new AccountSettings(), receivedAt: Now.AddDays(-60)));
    }

    [Fact]
    public void A_short_lived_token_without_iat_is_refreshed_ahead_of_its_expiry_not_at_every_floor()
    {
        // From a server that hands out one-minute tokens without iat: counted as living from now, the refresh comes in the
        // last third of the minute, not after min-refresh-interval (once a second for as long as the server answers so).
        var claims = new JwtClaims("refresh+jwt", Did, null, null, null, Now.AddMinutes(1), "jti");
        var tokens = WithClaims(claims);
        foreach (var active in new DateTimeOffset?[] { Now, null })
        {
            var due = AccountRules.NextRefreshAt(tokens, Now, active, 0, Settings with { MinRefreshInterval = TimeSpan.FromSeconds(1) });
            Assert.InRange(due, Now.AddSeconds(39), Now.AddSeconds(41));
        }
    }

    [Fact]
    public void Backoff_and_expiry_are_total_for_any_settings()
    {
        var extremes = new[]
        {
            Settings with { BackoffMin = TimeSpan.MaxValue, BackoffMax = TimeSpan.MaxValue },
            Settings with { BackoffMin = TimeSpan.MinValue, BackoffMax = TimeSpan.MinValue },
            Settings with { BackoffMin = TimeSpan.FromDays(10000), BackoffMax = TimeSpan.MaxValue, ExpirySkew = TimeSpan.MaxValue },
            Settings with { ExpirySkew = TimeSpan.MinValue, MinRefreshInterval = TimeSpan.MaxValue, RefreshMarginFraction = double.NaN },
        };
        foreach (var settings in extremes)
        foreach (var attempt in new[] { int.MinValue, -1, 0, 1, 64, int.MaxValue })
        foreach (var jitter in new[] { double.NaN, double.NegativeInfinity, 0.5, double.PositiveInfinity })
        {
            var delay = AccountRules.Backoff(attempt, jitter, settings);
            Assert.InRange(delay, TimeSpan.Zero, AccountRules.LongestBackoff);
            AccountRules.AccessExpired(TestJwt.Pair(Did, Now), Now, settings);
            AccountRules.NextRefreshAt(TestJwt.Pair(Did, Now), Now, Now, jitter, settings);
        }
        Assert.Equal(Settings.BackoffMin, AccountRules.Backoff(int.MinValue, 0.5, Settings));
        Assert.Equal(Settings.BackoffMax, AccountRules.Backoff(int.MaxValue, 0.5, Settings));
    }

    public static TheoryData<string> UnreadableFields => new()
    {
        """ "email":"a@b.test" """,
        $$""" "handle":"{{new string('h', 3000)}}" """,
        """ "handle":42,"email":{"not":"a string"} """,
        """ "handle":"\ud800","status":"\udc00" """,
        $$""" "handle":"alice.test","email":"{{new string('e', 3000)}}","status":"{{new string('s', 3000)}}" """,
    };

    [Theory]
    [MemberData(nameof(UnreadableFields))]
    public void A_refresh_answer_whose_handle_email_or_status_cannot_be_read_keeps_its_rotated_pair_and_the_accounts_handle(string fields)
    {
        // The PDS has rotated the pair already: dropping it would leave the account the old refresh token, which the
        // reference PDS takes for two hours more.
        var tokens = Pair(Now.AddHours(2), Now.AddDays(90), Now);
        var answer = XrpcResponse.From(200, Encoding.UTF8.GetBytes(
            $$"""{"did":"{{Did}}","accessJwt":"{{tokens.AccessJwt}}","refreshJwt":"{{tokens.RefreshJwt}}",{{fields}}}"""), "application/json", null);
        var grant = Assert.IsType<RefreshOutcome.Refreshed>(AccountRules.ClassifyRefresh(Did, "alice.test", answer, Now, Settings)).Grant;
        Assert.True(grant.Tokens.RefreshJwt == tokens.RefreshJwt && grant.Tokens.AccessJwt == tokens.AccessJwt, "the rotated pair was not kept");
        Assert.Equal(("alice.test", (string?)null), (grant.Handle, grant.Status));
        Assert.True(grant.Email is null or "a@b.test");
        // Nor is a login's answer read so: a session without a readable handle is not one (TokenBoundsSpec).
        Assert.Throws<SessionFormatException>(() => SessionGrant.Parse(System.Text.Json.JsonDocument.Parse(answer.Body).RootElement));
    }

    [Fact]
    public void A_refresh_answer_with_an_expired_refresh_token_is_a_transient_invalid_response()
    {
        var answer = Refreshed(Pair(Now.AddHours(2), Now.AddSeconds(-1), Now.AddHours(-2)));
        var failed = Assert.IsType<RefreshOutcome.Transient>(AccountRules.ClassifyRefresh(Did, "alice.test", answer, Now, Settings));
        Assert.Equal(XrpcError.InvalidResponse, failed.Error.Error);
        Assert.Contains("refresh token has already expired", failed.Error.Message);
    }

    [Theory]
    [InlineData(-60)]
    [InlineData(0)]
    [InlineData(1)]
    public void A_refresh_answer_whose_access_token_is_expired_or_within_the_skew_is_a_transient_invalid_response(int secondsLeft)
    {
        var answer = Refreshed(Pair(Now.AddSeconds(secondsLeft), Now.AddDays(90), Now.AddHours(-2)));
        var failed = Assert.IsType<RefreshOutcome.Transient>(AccountRules.ClassifyRefresh(Did, "alice.test", answer, Now, Settings));
        Assert.Equal(XrpcError.InvalidResponse, failed.Error.Error);
        Assert.Contains("access token is already expired", failed.Error.Message);
        Assert.DoesNotContain("eyJ", failed.Error.Message);
    }

    [Fact]
    public void A_refresh_answer_with_short_but_live_tokens_is_accepted()
    {
        // The reference PDS of the tests issues 10-second access tokens: their skew is a tenth of that.
        var answer = Refreshed(Pair(Now.AddSeconds(10), Now.AddDays(90), Now));
        Assert.IsType<RefreshOutcome.Refreshed>(AccountRules.ClassifyRefresh(Did, "alice.test", answer, Now, Settings));
    }

    /// <summary>
    /// A pair with both claims set to <paramref name="claims"/>, through the private constructor: JwtClaims.TryRead
    /// bounds every claim that comes from a token, so only a pair built this way can hold extreme ones.
    /// </summary>
    private static SessionTokens WithClaims(JwtClaims claims)
    {
        var constructor = typeof(SessionTokens).GetConstructors(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)
            .Single(c => c.GetParameters().Length == 5);
        return (SessionTokens)constructor.Invoke(["a", "r", claims, claims, null]);
    }
}

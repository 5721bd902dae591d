using System.Text;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Tests.Limits;

/// <summary>
/// The RateLimit-* headers of a server we do not control: a reset years ahead holds a server for at most
/// max-hold, the reset is read as Unix time or as delta-seconds, and garbage is ignored, never an exception.
/// </summary>
public sealed class RateLimitHeadersSpec
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static RateLimitInfo? Read(params (string Name, string Value)[] headers)
    {
        using var answer = new HttpResponseMessage();
        foreach (var (name, value) in headers) Assert.True(answer.Headers.TryAddWithoutValidation(name, value));
        return RateLimitHeaders.Read(answer.Headers, Now);
    }

    private static XrpcResponse TooMany(RateLimitInfo? info) =>
        XrpcResponse.From(429, Encoding.UTF8.GetBytes("""{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"""), "application/json", info);

    [Fact]
    public async Task A_429_with_a_reset_eleven_years_ahead_holds_the_server_for_at_most_max_hold()
    {
        var info = Read(("RateLimit-Limit", "3000"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "2147483647"), ("RateLimit-Policy", "3000;w=300"));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(int.MaxValue), info!.Reset);
        var limits = new ServerLimits(new ServerLimitSettings { MaxHold = TimeSpan.FromMinutes(20) });

        var answer = await limits.SendAsync("http://pds.example", "did:plc:a", "com.atproto.server.getSession", CallKind.Request, new FixedTime(Now),
            () => Task.FromResult(TooMany(info)));

        Assert.Equal(Now + TimeSpan.FromMinutes(20), answer.RateLimit!.Reset);
        Assert.Equal(Now + TimeSpan.FromMinutes(20), limits.BlockedUntil("http://pds.example", Now));
        Assert.Equal(Now + TimeSpan.FromMinutes(20), limits.Acquire("http://pds.example", "did:plc:b", "x", CallKind.Session, Now).HeldUntil);
        Assert.Null(limits.BlockedUntil("http://pds.example", Now + TimeSpan.FromMinutes(20)));
    }

    [Fact]
    public void Max_hold_is_one_hour_unless_configured()
    {
        Assert.Equal(TimeSpan.FromHours(1), new ServerLimitSettings().MaxHold);
        Assert.Equal(TimeSpan.FromHours(1), ServerLimitSettings.From(global::Supervisor.Host.Configuration.SupervisorConfig.Load(
            global::Supervisor.Host.Configuration.JournalKind.Sqlite, "Data Source=:memory:", [], null).GetConfig("supervisor.server-limits")).MaxHold);
        var configured = ServerLimitSettings.From(Akka.Configuration.ConfigurationFactory.ParseString("max-hold = 5m"));
        Assert.Equal(TimeSpan.FromMinutes(5), configured.MaxHold);
    }

    [Fact]
    public void The_shipped_budget_is_the_READMEs_3000_per_5_minutes_with_a_tenth_for_sessions()
    {
        var shipped = ServerLimitSettings.From(global::Supervisor.Host.Configuration.SupervisorConfig.Load(
            global::Supervisor.Host.Configuration.JournalKind.Sqlite, "Data Source=:memory:", [], null).GetConfig("supervisor.server-limits"));
        Assert.Equal(new BudgetWindow(3000, TimeSpan.FromMinutes(5)), shipped.Shared);
        Assert.Equal((0.1, 0.5, TimeSpan.FromSeconds(30)), (shipped.SessionReserve, shipped.FairShareBelow, shipped.HoldWithoutReset));
    }

    [Fact]
    public void Servers_idle_for_two_windows_are_forgotten_once_there_are_too_many_and_held_ones_are_kept()
    {
        var limits = new ServerLimits(new ServerLimitSettings());
        var now = DateTimeOffset.UtcNow;
        var longAgo = now - TimeSpan.FromMinutes(30); // six windows of the default 5 minutes
        // A 429 long ago whose hold lasts still (until 20 minutes from now): kept for its hold alone.
        limits.Observe("https://held.example", "did:plc:a", "x", TooMany(new RateLimitInfo(30, 0, now + TimeSpan.FromMinutes(20), null)), longAgo);
        for (var i = 0; i < ServerLimits.MaxServers - 2; i++)
            limits.Acquire($"https://login-{i}.example", "", "com.atproto.server.createSession", CallKind.Session, longAgo);
        limits.Acquire("https://busy.example", "did:plc:b", "x", CallKind.Request, now - TimeSpan.FromMinutes(1));
        Assert.Equal(ServerLimits.MaxServers, limits.Snapshot(now).Count);

        limits.Acquire("https://new.example", "did:plc:c", "x", CallKind.Request, now); // one too many: the idle go
        Assert.Equal(["busy.example", "held.example", "new.example"], limits.Snapshot(now).Select(s => s.Server).Order(StringComparer.Ordinal));
        Assert.NotNull(limits.Acquire("https://held.example", "did:plc:a", "x", CallKind.Request, now).HeldUntil);
    }

    [Fact]
    public void A_429_without_a_reset_is_held_no_longer_than_max_hold_either()
    {
        var limits = new ServerLimits(new ServerLimitSettings { HoldWithoutReset = TimeSpan.FromDays(2), MaxHold = TimeSpan.FromMinutes(3) });
        limits.Observe("http://pds.example", "did:plc:a", "x", TooMany(null), Now);
        Assert.Equal(Now + TimeSpan.FromMinutes(3), limits.Acquire("http://pds.example", "did:plc:a", "x", CallKind.Request, Now).HeldUntil);
    }

    [Theory]
    [InlineData("30", 30)]
    [InlineData("0", 0)]
    [InlineData(" 999999999 ", 999_999_999)]
    public void A_reset_below_ten_to_the_ninth_is_seconds_from_now(string header, long seconds)
    {
        Assert.Equal(Now.AddSeconds(seconds), Read(("RateLimit-Reset", header))!.Reset);
    }

    [Fact]
    public void A_reset_from_ten_to_the_ninth_on_is_unix_time_as_the_reference_pds_sends_it()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_795_000_000), Read(("RateLimit-Reset", "1795000000"))!.Reset);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("1e9")]
    [InlineData("12.5")]
    [InlineData("99999999999999999999999")]
    [InlineData("253402300800")]
    [InlineData("\u0661\u0662")]
    [InlineData("ten")]
    [InlineData("")]
    public void Garbage_in_a_number_header_is_ignored(string header)
    {
        var info = Read(("RateLimit-Limit", header), ("RateLimit-Remaining", header), ("RateLimit-Reset", header), ("RateLimit-Policy", "100;w=60"));
        Assert.Equal(new RateLimitInfo(null, null, null, "100;w=60"), info);
    }

    [Fact]
    public void A_count_beyond_an_int_is_ignored_and_the_others_are_kept()
    {
        Assert.Equal(new RateLimitInfo(null, 7, null, null), Read(("RateLimit-Limit", "4294967296"), ("RateLimit-Remaining", "7")));
    }

    [Theory]
    [InlineData("3000;w=300\u00e9")]
    [InlineData("3000;w=300\u001b[2J")]
    [InlineData("3000;\nw=300")]
    [InlineData("\u00ff\u00fe")]
    public void A_policy_that_is_not_visible_ascii_is_dropped_so_it_never_reaches_a_response_header(string policy)
    {
        Assert.Null(Read(("RateLimit-Limit", "10"), ("RateLimit-Policy", policy))!.Policy);
    }

    [Fact]
    public void A_policy_of_visible_ascii_is_kept_and_one_too_long_is_dropped()
    {
        Assert.Equal("100;w=60, 50;w=1", Read(("RateLimit-Policy", " 100;w=60, 50;w=1 "))!.Policy);
        Assert.Null(Read(("RateLimit-Policy", new string('1', RateLimitHeaders.MaxPolicyLength + 1))));
    }

    [Theory]
    [InlineData("2", 2)]
    [InlineData("Tue, 24 Nov 2026 12:00:45 GMT", 45)]
    public void Retry_After_is_read_as_seconds_or_as_an_HTTP_date(string header, int seconds)
    {
        Assert.Equal(new RateLimitInfo(null, null, null, null, Now.AddSeconds(seconds)), Read(("Retry-After", header)));
    }

    [Theory]
    [InlineData("-2")]
    [InlineData("soon")]
    [InlineData("1795000000")]
    public void Garbage_in_Retry_After_is_ignored(string header)
    {
        Assert.Null(Read(("Retry-After", header)));
    }

    [Fact]
    public void A_429_with_only_Retry_After_holds_the_accounts_method_until_then_not_for_the_default_hold()
    {
        var limits = new ServerLimits(new ServerLimitSettings { HoldWithoutReset = TimeSpan.FromSeconds(30) });
        limits.Observe("http://pds.example", "did:plc:a", "app.bsky.feed.getFeed", TooMany(Read(("Retry-After", "2"))), Now);
        Assert.Equal(Now.AddSeconds(2), limits.Acquire("http://pds.example", "did:plc:a", "app.bsky.feed.getFeed", CallKind.Request, Now).HeldUntil);
        Assert.Null(limits.Acquire("http://pds.example", "did:plc:a", "app.bsky.feed.getFeed", CallKind.Request, Now.AddSeconds(2.1)).HeldUntil);
    }

    [Fact]
    public void A_429_passed_on_under_the_PDSs_shared_policy_with_budget_left_holds_for_the_services_Retry_After_not_the_PDSs_window()
    {
        var limits = new ServerLimits(new ServerLimitSettings());
        var shared = new[] { ("RateLimit-Limit", "3000"), ("RateLimit-Remaining", "2500"), ("RateLimit-Reset", "300"), ("RateLimit-Policy", "3000;w=300") };
        limits.Observe("http://pds.example", "did:plc:a", "app.bsky.feed.getFeed", TooMany(Read([.. shared, ("Retry-After", "3")])), Now);
        Assert.Equal(Now.AddSeconds(3), limits.Acquire("http://pds.example", "did:plc:a", "app.bsky.feed.getFeed", CallKind.Request, Now).HeldUntil);

        // Without a Retry-After the PDS's window says nothing of the service's limit: the default hold, not 5 minutes.
        limits.Observe("http://pds.example", "did:plc:a", "app.bsky.feed.getTimeline", TooMany(Read(shared)), Now);
        Assert.Equal(Now + new ServerLimitSettings().HoldWithoutReset, limits.Acquire("http://pds.example", "did:plc:a", "app.bsky.feed.getTimeline", CallKind.Request, Now).HeldUntil);
        Assert.Null(limits.Acquire("http://pds.example", "did:plc:b", "app.bsky.feed.getTimeline", CallKind.Request, Now).HeldUntil);
    }

    [Fact]
    public void Past_32_held_methods_an_accounts_every_method_is_held_instead_so_429s_to_made_up_names_cannot_grow_the_holds()
    {
        var limits = new ServerLimits(new ServerLimitSettings());
        var reset = Read(("RateLimit-Limit", "10"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "3600"), ("RateLimit-Policy", "10;w=3600"));
        for (var i = 0; i < 10_000; i++) limits.Observe("http://pds.example", "did:plc:a", $"a.b.c{i}", TooMany(reset), Now);

        var server = Assert.Single(limits.Snapshot(Now));
        Assert.InRange(server.HeldCalls, 1, ServerLimits.MaxHeldMethods + 1);
        Assert.Equal(Now.AddHours(1), limits.Acquire("http://pds.example", "did:plc:a", "com.atproto.repo.createRecord", CallKind.Request, Now).HeldUntil);
        Assert.Null(limits.Acquire("http://pds.example", "did:plc:b", "com.atproto.repo.createRecord", CallKind.Request, Now).HeldUntil);
        Assert.Null(limits.Acquire("http://pds.example", "did:plc:a", "com.atproto.repo.createRecord", CallKind.Request, Now.AddHours(1.01)).HeldUntil);
    }

    [Fact]
    public void Thirty_two_held_methods_of_an_account_are_held_each_alone_and_a_33rd_holds_all_its_calls_until_the_latest()
    {
        var limits = new ServerLimits(new ServerLimitSettings());
        void Hold(int i) => limits.Observe("http://pds.example", "did:plc:a", $"a.b.c{i}", TooMany(Read(("RateLimit-Limit", "10"), ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", (60 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("RateLimit-Policy", "10;w=3600"))), Now);
        DateTimeOffset? HeldUntil(string nsid) => limits.Acquire("http://pds.example", "did:plc:a", nsid, CallKind.Request, Now).HeldUntil;

        for (var i = 0; i < 32; i++) Hold(i);
        Assert.Null(HeldUntil("com.atproto.repo.createRecord"));
        Assert.Equal(Now.AddSeconds(65), HeldUntil("a.b.c5"));
        Hold(32);
        Assert.Equal(Now.AddSeconds(92), HeldUntil("com.atproto.repo.createRecord"));
        Assert.Equal(Now.AddSeconds(92), HeldUntil("a.b.c5"));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

using Akka.Configuration;
using Supervisor.Actors.Limits;

namespace Supervisor.Actors.Account;

/// <summary>
/// The timing rules of every account, read from the HOCON section <c>supervisor.accounts</c>
/// (see hocon/supervisor.conf for each key's meaning).
/// </summary>
public sealed record AccountSettings
{
    /// <summary>How long one call to a PDS may take.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long before the access token's expiry a proactive refresh is due, at most.</summary>
    public TimeSpan RefreshMargin { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The margin is capped at this fraction of the token's lifetime (for short-lived tokens).</summary>
    public double RefreshMarginFraction { get; init; } = 0.25;

    /// <summary>How long before the refresh token's expiry an idle account is refreshed to keep it alive.</summary>
    public TimeSpan KeepAliveMargin { get; init; } = TimeSpan.FromDays(30);

    /// <summary>An account with a request within this window is refreshed before its access token expires; others only for keep-alive.</summary>
    public TimeSpan ActiveWindow { get; init; } = TimeSpan.FromHours(2);

    /// <summary>An access token this close to its expiry (at most a tenth of its lifetime) counts as expired.</summary>
    public TimeSpan ExpirySkew { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The soonest a scheduled refresh (ahead of expiry, keep-alive) may come after the supervisor received the pair,
    /// whatever the tokens' claims say (<see cref="AccountRules.NextRefreshAt"/>): a server that hands out tokens living
    /// seconds sets no faster pace. A request that finds its token expired still refreshes it at once.
    /// </summary>
    public TimeSpan MinRefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>First retry delay after a transient failure.</summary>
    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest retry delay after repeated transient failures.</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often an account that has run this long is asked (by its node's supervisor) whether it may stop: with nothing in flight and no request within
    /// <see cref="ActiveWindow"/> it does, and is started again when its refresh is due or a message arrives (zero: never).
    /// </summary>
    public TimeSpan PassivateAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How many accounts read their journal at once at start; an account asked for meanwhile starts at once.</summary>
    public int StartupBatch { get; init; } = 32;

    /// <summary>
    /// At start, how long the supervisor may take for its first PDS call (<c>describeServer</c> at the PDS of an account
    /// the registry knows) before it answers anyway.
    /// </summary>
    public TimeSpan WarmUpLimit { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the journal database is checked (an outage is also noticed at the first failed write).</summary>
    public TimeSpan JournalProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a check of the journal may go unanswered before the journal counts as unavailable (an error counts at once).</summary>
    public TimeSpan JournalProbeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many logins one identifier may make at one service (<c>supervisor.login-budget</c>).</summary>
    public LoginBudgetSettings LoginBudget { get; init; } = LoginBudgetSettings.Standard;

    /// <summary>How the accounts share each server's budget (<c>supervisor.server-limits</c>).</summary>
    public ServerLimitSettings ServerLimits { get; init; } = new();

    /// <summary>A snapshot is saved every this many journaled events.</summary>
    public int SnapshotEvery { get; init; } = 50;

    /// <summary>How many buckets the account registry and the login budgets are spread over (fixed for a journal's life).</summary>
    public int RegistryBuckets { get; init; } = 32;

    /// <summary>How many shards the accounts are spread over (fixed for a journal's life).</summary>
    public int AccountShards { get; init; } = 100;

    /// <summary>Reads the settings from a <c>supervisor.accounts</c> config section; missing keys keep the defaults.</summary>
    public static AccountSettings From(Config? section)
    {
        var d = new AccountSettings();
        if (section is null || section.IsEmpty) return d;
        return new AccountSettings
        {
            RequestTimeout = section.GetTimeSpan("request-timeout", d.RequestTimeout),
            RefreshMargin = section.GetTimeSpan("refresh-margin", d.RefreshMargin),
            RefreshMarginFraction = section.GetDouble("refresh-margin-fraction", d.RefreshMarginFraction),
            KeepAliveMargin = section.GetTimeSpan("keep-alive-margin", d.KeepAliveMargin),
            ActiveWindow = section.GetTimeSpan("active-window", d.ActiveWindow),
            ExpirySkew = section.GetTimeSpan("expiry-skew", d.ExpirySkew),
            MinRefreshInterval = section.GetTimeSpan("min-refresh-interval", d.MinRefreshInterval),
            BackoffMin = section.GetTimeSpan("backoff-min", d.BackoffMin),
            BackoffMax = section.GetTimeSpan("backoff-max", d.BackoffMax),
            StartupBatch = Math.Max(1, section.GetInt("startup-batch", d.StartupBatch)),
            PassivateAfter = section.GetTimeSpan("passivate-after", d.PassivateAfter),
            JournalProbeInterval = section.GetTimeSpan("journal-probe-interval", d.JournalProbeInterval),
            JournalProbeTimeout = section.GetTimeSpan("journal-probe-timeout", d.JournalProbeTimeout),
            WarmUpLimit = section.GetTimeSpan("warm-up-limit", d.WarmUpLimit),
            SnapshotEvery = section.GetInt("snapshot-every", d.SnapshotEvery),
            RegistryBuckets = Math.Max(1, section.GetInt("registry-buckets", d.RegistryBuckets)),
            AccountShards = Math.Max(1, section.GetInt("shards", d.AccountShards)),
        };
    }
}

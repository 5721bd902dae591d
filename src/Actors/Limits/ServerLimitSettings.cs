using Akka.Configuration;

namespace Supervisor.Actors.Limits;

/// <summary>
/// How the requests of all accounts share one server's budget (<c>supervisor.server-limits</c>; see
/// hocon/supervisor.conf for each key).
/// </summary>
public sealed record ServerLimitSettings
{
    /// <summary>The budget every server is assumed to give this host (its IP) until its headers say more: 3000 per 5 minutes.</summary>
    public BudgetWindow Shared { get; init; } = new(3000, TimeSpan.FromMinutes(5));

    /// <summary>The part of the shared budget kept for refreshes and logins.</summary>
    public double SessionReserve { get; init; } = 0.1;

    /// <summary>Below this part of the shared budget left, each account is held to its fair share.</summary>
    public double FairShareBelow { get; init; } = 0.5;

    /// <summary>How long a call is held after a 429 that names no reset.</summary>
    public TimeSpan HoldWithoutReset { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest a call is held after a 429, and the furthest ahead a server's <c>RateLimit-Reset</c> is
    /// believed: a later reset counts as this far ahead.
    /// </summary>
    public TimeSpan MaxHold { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Reads the section; missing keys keep the defaults.</summary>
    public static ServerLimitSettings From(Config? section)
    {
        var d = new ServerLimitSettings();
        if (section is null || section.IsEmpty) return d;
        return new ServerLimitSettings
        {
            Shared = section.HasPath("shared") ? BudgetWindow.Parse(section.GetString("shared")) : d.Shared,
            SessionReserve = section.GetDouble("session-reserve", d.SessionReserve),
            FairShareBelow = section.GetDouble("fair-share-below", d.FairShareBelow),
            HoldWithoutReset = section.GetTimeSpan("hold-without-reset", d.HoldWithoutReset),
            MaxHold = section.GetTimeSpan("max-hold", d.MaxHold),
        };
    }
}

using Akka.Configuration;

namespace Supervisor.Actors.Limits;

/// <summary>
/// How many createSession calls one identifier may make at one service (<c>supervisor.login-budget</c>):
/// a default, and overrides per service host (bsky.social's entryway allows fewer per day).
/// </summary>
public sealed record LoginBudgetSettings(IReadOnlyList<BudgetWindow> Default, IReadOnlyDictionary<string, IReadOnlyList<BudgetWindow>> Services)
{
    /// <summary>The reference PDS's own limits: 30 per 5 minutes and 300 per day.</summary>
    public static readonly LoginBudgetSettings Standard = new(
        [new BudgetWindow(30, TimeSpan.FromMinutes(5)), new BudgetWindow(300, TimeSpan.FromDays(1))],
        new Dictionary<string, IReadOnlyList<BudgetWindow>>(StringComparer.OrdinalIgnoreCase));

    /// <summary>The budget of logins at <paramref name="service"/> (a URL).</summary>
    public IReadOnlyList<BudgetWindow> For(string service) =>
        Uri.TryCreate(service, UriKind.Absolute, out var uri) && Services.TryGetValue(uri.Host, out var windows) ? windows : Default;

    /// <summary>The longest window of any budget: attempts older than this are forgotten.</summary>
    public TimeSpan Longest => Default.Concat(Services.Values.SelectMany(w => w)).Select(w => w.Window).DefaultIfEmpty(TimeSpan.Zero).Max();

    /// <summary>Reads the section; a missing section gives <see cref="Standard"/>.</summary>
    public static LoginBudgetSettings From(Config? section)
    {
        if (section is null || section.IsEmpty) return Standard;
        var defaults = section.HasPath("default") ? Windows(section.GetStringList("default")) : Standard.Default;
        var services = new Dictionary<string, IReadOnlyList<BudgetWindow>>(StringComparer.OrdinalIgnoreCase);
        if (section.HasPath("services"))
        {
            foreach (var (host, value) in section.GetConfig("services").AsEnumerable())
                services[host.Trim('"')] = Windows(value.GetStringList());
        }
        return new LoginBudgetSettings(defaults, services);
    }

    private static List<BudgetWindow> Windows(IEnumerable<string> texts) => texts.Select(BudgetWindow.Parse).ToList();
}

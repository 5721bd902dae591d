using Akka.Configuration;
using Supervisor.Actors.Limits;

namespace Supervisor.Actors.Keys;

/// <summary>
/// How many sessions one account key opens, and how many times it rotates them, within windows
/// (<c>supervisor.keys.session-budget</c>, <c>rotation-budget</c>). Each is a journal write that every node's copy holds
/// before it is answered, and each opening an audit entry (the trail keeps its newest 10,000): without a budget a key
/// holder would fill the keys' journal, keep their one owner busy for every account's keys, and push the trail's older
/// entries out. An empty list is no budget.
/// </summary>
/// <param name="Opens">The windows of createSession (as a PDS's: 30 per 5 minutes and 300 a day).</param>
/// <param name="Rotations">The windows of refreshSession (a key's 100 sessions, each rotated every two hours, fit them).</param>
public sealed record KeySessionLimits(IReadOnlyList<BudgetWindow> Opens, IReadOnlyList<BudgetWindow> Rotations)
{
    /// <summary>30 openings per 5 minutes and 300 a day; 100 rotations per 5 minutes and 3,000 a day.</summary>
    public static readonly KeySessionLimits Standard = new(
        LoginBudgetSettings.Standard.Default,
        [new BudgetWindow(100, TimeSpan.FromMinutes(5)), new BudgetWindow(3_000, TimeSpan.FromDays(1))]);

    /// <summary>
    /// Reads <c>session-budget</c> and <c>rotation-budget</c> from the configuration's <c>supervisor.keys</c>; what is left
    /// out is <see cref="Standard"/>'s. An entry that is not <c>"N per DURATION"</c> is a <see cref="ConfigurationException"/> naming the setting.
    /// </summary>
    public static KeySessionLimits From(Config config) =>
        new(Windows(config, "supervisor.keys.session-budget", Standard.Opens), Windows(config, "supervisor.keys.rotation-budget", Standard.Rotations));

    private static IReadOnlyList<BudgetWindow> Windows(Config config, string path, IReadOnlyList<BudgetWindow> fallback)
    {
        if (!config.HasPath(path)) return fallback;
        try
        {
            return [.. config.GetStringList(path).Select(BudgetWindow.Parse)];
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"{path}: {e.Message}");
        }
    }
}

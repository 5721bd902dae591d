using System.Security.Cryptography;
using System.Text;

namespace Supervisor.Actors.Limits;

/// <summary>
/// The login budget's rules, as pure functions over the times of earlier attempts. Failed logins count,
/// as they do at the server.
/// </summary>
public static class LoginBudget
{
    /// <summary>
    /// The journal key of an identifier at a service: a hash, so that the journal holds no email address.
    /// Handles and emails compare without case.
    /// </summary>
    public static string Key(string service, string identifier)
    {
        var host = Uri.TryCreate(service, UriKind.Absolute, out var uri) ? uri.Authority : service;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(host.ToLowerInvariant() + "\n" + identifier.Trim().ToLowerInvariant()));
        return Convert.ToHexString(hash, 0, 16).ToLowerInvariant();
    }

    /// <summary>
    /// Null when one more attempt at <paramref name="now"/> fits every window; otherwise the earliest time
    /// at which it does, and the window that is spent.
    /// </summary>
    public static (DateTimeOffset At, BudgetWindow Spent)? RetryAt(IReadOnlyList<DateTimeOffset> attempts, DateTimeOffset now, IReadOnlyList<BudgetWindow> windows)
    {
        (DateTimeOffset At, BudgetWindow Spent)? latest = null;
        foreach (var window in windows)
        {
            var inWindow = attempts.Where(a => a > now - window.Window).OrderBy(a => a).ToList();
            if (inWindow.Count < window.Limit) continue;
            // The window frees a place when the oldest attempt that keeps it full leaves it.
            var at = inWindow[inWindow.Count - window.Limit] + window.Window;
            if (latest is null || at > latest.Value.At) latest = (at, window);
        }
        return latest;
    }

    /// <summary>The attempts still inside <paramref name="longest"/>.</summary>
    public static List<DateTimeOffset> Recent(IEnumerable<DateTimeOffset> attempts, DateTimeOffset now, TimeSpan longest) =>
        attempts.Where(a => a > now - longest).ToList();
}

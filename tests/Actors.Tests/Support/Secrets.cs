using System.Text.RegularExpressions;

namespace Supervisor.Actors.Tests.Support;

/// <summary>Finds JWT-shaped strings in text (logs, answers) that must not hold any.</summary>
public static partial class Secrets
{
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")]
    private static partial Regex JwtPattern();

    public static IReadOnlyList<string> JwtsIn(string text) => JwtPattern().Matches(text).Select(m => m.Value[..12] + "…").ToList();
}

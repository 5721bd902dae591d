namespace Supervisor.Actors.Pds;

/// <summary>
/// Method names as an operator lists them (the privileged methods, a key's <c>allow</c>): an NSID, or a namespace ending
/// in <c>.*</c> for every method under it (<c>chat.bsky.*</c>: those to come too), compared ignoring case as the PDS
/// routes method names.
/// </summary>
public static class MethodPatterns
{
    /// <summary>True when <paramref name="nsid"/> is one of <paramref name="patterns"/> or under one of its namespaces.</summary>
    public static bool Matches(IEnumerable<string> patterns, string nsid)
    {
        if (patterns is IReadOnlySet<string> set && set.Contains(nsid)) return true;
        foreach (var pattern in patterns)
            if (pattern.EndsWith(".*", StringComparison.Ordinal) ? nsid.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
                    : string.Equals(pattern, nsid, StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }
}

using System.Collections.Concurrent;

namespace Supervisor.Actors.Session;

/// <summary>
/// One instance of each value that many accounts hold alike (a token's type, scope and audience, a PDS's URL), so that
/// 100,000 accounts on a few servers do not keep 100,000 copies of each. Bounded: values come from servers and clients,
/// so past <see cref="Capacity"/> distinct values (or for a value longer than <see cref="LongestValue"/>) a value is
/// kept as it came instead of being shared.
/// </summary>
public static class SharedStrings
{
    /// <summary>How many distinct values are shared at most.</summary>
    public const int Capacity = 4096;

    /// <summary>The longest value shared.</summary>
    public const int LongestValue = 256;

    private static readonly ConcurrentDictionary<string, string> Pool = new(StringComparer.Ordinal);

    /// <summary>The shared instance equal to <paramref name="value"/> (null for null).</summary>
    public static string? Of(string? value)
    {
        if (value is null || value.Length > LongestValue) return value;
        if (Pool.TryGetValue(value, out var shared)) return shared;
        return Pool.Count >= Capacity ? value : Pool.GetOrAdd(value, value);
    }
}

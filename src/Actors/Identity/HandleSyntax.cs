namespace Supervisor.Actors.Identity;

/// <summary>
/// The atproto handle syntax (a DNS host name of at least two labels, ASCII only, at most 253 characters,
/// a TLD that does not start with a digit, no reserved TLD except <c>.test</c>) and its normal form (lower case).
/// </summary>
public static class HandleSyntax
{
    /// <summary>The longest handle, in characters.</summary>
    public const int MaxLength = 253;

    /// <summary>
    /// TLDs the atproto spec reserves and no handle may use. <c>.test</c> is reserved too but allowed here:
    /// the reference PDS of the test environment only creates <c>.test</c> handles.
    /// </summary>
    public static readonly IReadOnlySet<string> RefusedTlds = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "local", "arpa", "invalid", "localhost", "internal", "example", "onion", "alt",
    };

    /// <summary>True when <paramref name="handle"/> is a syntactically valid handle (in any letter case).</summary>
    public static bool IsValid(string? handle)
    {
        if (handle is null || CountHostLabels(handle) < 2) return false;
        var lastDot = handle.LastIndexOf('.');
        return !char.IsAsciiDigit(handle[lastDot + 1])
               && !RefusedTlds.Contains(handle[(lastDot + 1)..]);
    }

    /// <summary>The normal form of a valid handle: lower case. Throws <see cref="FormatException"/> for an invalid one.</summary>
    public static string Normalize(string handle) =>
        TryNormalize(handle, out var normal) ? normal : throw new FormatException("not a valid handle");

    /// <summary>The normal form (lower case) when <paramref name="handle"/> is valid.</summary>
    public static bool TryNormalize(string? handle, out string normal)
    {
        normal = IsValid(handle) ? handle!.ToLowerInvariant() : "";
        return normal.Length > 0;
    }

    /// <summary>
    /// The number of labels of a DNS host name of at most 253 characters, each label 1 to 63 characters of
    /// [a-zA-Z0-9-] without a hyphen at either end; -1 when <paramref name="name"/> is not such a name.
    /// </summary>
    internal static int CountHostLabels(string name)
    {
        if (name.Length is 0 or > MaxLength) return -1;
        var labels = 0;
        var start = 0;
        for (var i = 0; i <= name.Length; i++)
        {
            if (i < name.Length && name[i] != '.')
            {
                if (!char.IsAsciiLetterOrDigit(name[i]) && name[i] != '-') return -1;
                continue;
            }
            var length = i - start;
            if (length is < 1 or > 63 || name[start] == '-' || name[i - 1] == '-') return -1;
            labels++;
            start = i + 1;
        }
        return labels;
    }
}

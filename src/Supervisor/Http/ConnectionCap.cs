namespace Supervisor.Host.Http;

/// <summary>
/// How many HTTP connections the host holds open at once. Every connection is a file descriptor, and so are the
/// journal's connections and the calls to the PDSes: a client that opens connections without end (anyone reaching the
/// port, before any authentication) would otherwise take them all, and every account's refresh and journal write would
/// fail with it. By default half of the process's open-file limit is left to HTTP clients.
/// </summary>
public static class ConnectionCap
{
    /// <summary>
    /// The cap for <paramref name="configured"/> (<c>supervisor.proxy.max-connections</c>; 0: half of
    /// <paramref name="openFileLimit"/>), or null when neither says one (no limit known).
    /// </summary>
    public static long? Of(long configured, long? openFileLimit) =>
        configured > 0 ? configured : openFileLimit is > 1 and var files ? files / 2 : null;

    /// <summary>The soft open-file limit of this process (<c>/proc/self/limits</c>), or null where it cannot be read or is unlimited.</summary>
    public static long? OpenFileLimit()
    {
        try
        {
            return Parse(File.ReadAllLines("/proc/self/limits"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft limit of the "Max open files" line of <paramref name="limits"/>, or null.</summary>
    public static long? Parse(IEnumerable<string> limits)
    {
        foreach (var line in limits)
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], out var soft) ? soft : null;
        }
        return null;
    }
}

namespace Supervisor.Bench;

/// <summary>
/// A process's resident memory from /proc/PID/status: <c>VmRSS</c> (all resident pages) and <c>RssAnon</c>
/// (resident anonymous pages: the GC heap, pinned buffers, thread stacks; no mapped files), in KiB.
/// </summary>
public readonly record struct ProcessMemory(long RssKb, long AnonKb)
{
    /// <summary>Reads the figures of process <paramref name="pid"/> now.</summary>
    public static ProcessMemory Of(int pid)
    {
        long rss = 0, anon = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anon = Kb(line);
        }
        return new ProcessMemory(rss, anon);
    }

    private static long Kb(string line) => long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0]);
}

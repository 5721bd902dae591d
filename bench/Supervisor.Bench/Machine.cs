using System.Runtime.InteropServices;

namespace Supervisor.Bench;

/// <summary>What a benchmark ran on, printed with its figures.</summary>
public static class Machine
{
    /// <summary>One line: cores, memory, CPU model, OS and runtime.</summary>
    public static string Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{Environment.ProcessorCount} cores, {memory:0.#} GiB, {cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, " +
               $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    /// <summary>"load average 1m 5m 15m" (the machine is shared: figures come with its load), or nothing off Linux.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? "load average " + string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "";

    /// <summary>The CPU time all cores have been busy and their total time so far (/proc/stat, in ticks); zeros when unknown.</summary>
    public static (long Busy, long Total) CpuTicks()
    {
        if (!File.Exists("/proc/stat")) return (0, 0);
        // cpu  user nice system idle iowait irq softirq steal ...
        var ticks = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var total = ticks.Sum();
        return (total - ticks[3] - ticks[4], total);
    }

    /// <summary>How busy the machine's cores were, in percent, since <paramref name="before"/> (from <see cref="CpuTicks"/>).</summary>
    public static double BusyPercentSince((long Busy, long Total) before)
    {
        var now = CpuTicks();
        return now.Total == before.Total ? 0 : 100.0 * (now.Busy - before.Busy) / (now.Total - before.Total);
    }
}

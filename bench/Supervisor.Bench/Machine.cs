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
}

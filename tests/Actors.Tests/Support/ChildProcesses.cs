using System.Collections.Concurrent;
using System.Diagnostics;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Long-lived processes the specs start (hosts, cluster members), kept until they exit: <see cref="OfTestRun"/>'s are
/// killed when the test process ends, so that a spec that fails before disposing its host leaves nothing running after
/// the run.
/// </summary>
public sealed class ChildProcesses
{
    private readonly ConcurrentDictionary<Process, byte> _running = new();

    /// <summary>The test run's: whatever of them still runs when the test process ends is killed then.</summary>
    public static ChildProcesses OfTestRun { get; } = new();

    static ChildProcesses() => AppDomain.CurrentDomain.ProcessExit += (_, _) => OfTestRun.KillAll();

    /// <summary>Starts the process from <paramref name="info"/> and keeps it until it exits.</summary>
    public Process Start(ProcessStartInfo info)
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start");
        _running.TryAdd(process, 0);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _running.TryRemove(process, out _);
        if (process.HasExited) _running.TryRemove(process, out _);
        return process;
    }

    /// <summary>How many of the processes started here are kept (not known to have exited).</summary>
    public int Count => _running.Count;

    /// <summary>Kills every process started here that still runs, with its children.</summary>
    public void KillAll()
    {
        foreach (var process in _running.Keys)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // exited (or disposed) meanwhile
            }
        }
    }
}

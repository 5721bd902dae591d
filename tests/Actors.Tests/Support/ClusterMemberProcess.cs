using System.Diagnostics;
using System.Text;

namespace Supervisor.Actors.Tests.Support;

/// <summary>The sample samples/ClusterMember running (a member of a cluster with the role client): its output lines as they come.</summary>
public sealed class ClusterMemberProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _all = new();

    private ClusterMemberProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Add(e.Data, line: true);
        _process.ErrorDataReceived += (_, e) => Add(e.Data, line: false);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts the sample's built dll (the configuration of these tests), reading its output as it comes.</summary>
    public static ClusterMemberProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SampleBuild.Dll("ClusterMember"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        return new ClusterMemberProcess(ChildProcesses.OfTestRun.Start(info));
    }

    /// <summary>The id of its process.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return [.. _lines];
        }
    }

    public string Output
    {
        get
        {
            lock (_lines) return _all.ToString();
        }
    }

    public async Task WaitForLineAsync(Func<string, bool> match, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (!Lines.Any(match))
        {
            if (DateTime.UtcNow > until || _process.HasExited && !Lines.Any(match))
                throw new TimeoutException($"the member did not print the line awaited within {within.TotalSeconds} s (exited: {_process.HasExited})");
            await Task.Delay(100);
        }
    }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Add(string? data, bool line)
    {
        if (data is null) return;
        lock (_lines)
        {
            if (line) _lines.Add(data.Trim());
            _all.AppendLine(data);
        }
    }
}
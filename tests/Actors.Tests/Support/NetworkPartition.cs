using System.Diagnostics;
using System.Globalization;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// A network partition between two groups of processes on loopback (<c>scripts/partition</c>: net_cls cgroups and an
/// nftables table): every connection between a process of one side and a remoting port of the other is dropped both
/// ways, while PostgreSQL, the PDS and the HTTP ports stay reachable. Disposing it heals the partition.
/// </summary>
public sealed class NetworkPartition : IAsyncDisposable
{
    private NetworkPartition()
    {
    }

    /// <summary>Cuts the processes of <paramref name="one"/> off from those of <paramref name="other"/> (each side: process ids and remoting ports).</summary>
    public static async Task<NetworkPartition> CutAsync((IEnumerable<int> Processes, IEnumerable<int> Ports) one, (IEnumerable<int> Processes, IEnumerable<int> Ports) other)
    {
        static string List(IEnumerable<int> values) => string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
        await RunAsync("cut", List(one.Processes), List(one.Ports), List(other.Processes), List(other.Ports));
        return new NetworkPartition();
    }

    /// <summary>Every connection works again.</summary>
    public async ValueTask DisposeAsync() => await RunAsync("heal");

    private static async Task RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(BrowserScript.RepositoryRoot, "scripts", "partition"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"scripts/partition {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
    }
}

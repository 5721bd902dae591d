using System.Globalization;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Supervisor hosts that form one cluster as processes on loopback: each with a remoting port of its own, all of them
/// seeds, one self-signed certificate for remoting's TLS and one journal (PostgreSQL: several nodes need it).
/// </summary>
public static class ClusterProcesses
{
    /// <summary>
    /// <paramref name="count"/> hosts (not started) on <paramref name="journal"/>, each with its data folder under the
    /// journal's, <paramref name="hocon"/> added to their configuration; and their remoting ports, in the same order.
    /// </summary>
    public static (List<SupervisorProcess> Nodes, List<int> RemotingPorts) Create(TestJournal journal, int count, string? hocon = null)
    {
        var remoting = Enumerable.Range(0, count).Select(_ => LoopbackPort.Free()).ToList();
        var seeds = string.Join(",", remoting.Select(p => $"127.0.0.1:{p}"));
        var certificate = Path.Combine(journal.Folder, "cluster.pfx");
        RemotingCertificate.CreateSelfSigned(certificate);
        var nodes = remoting.Select(port =>
        {
            var environment = journal.HostEnvironment();
            environment["SUPERVISOR_CLUSTER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
            environment["SUPERVISOR_CLUSTER_SEEDS"] = seeds;
            environment["SUPERVISOR_CLUSTER_CERT"] = certificate;
            if (hocon is not null) environment["SUPERVISOR_HOCON"] = hocon;
            return new SupervisorProcess(Directory.CreateDirectory(Path.Combine(journal.Folder, "node-" + port)).FullName, environment);
        }).ToList();
        return (nodes, remoting);
    }
}

using System.Globalization;

namespace Supervisor.Host.Configuration;

/// <summary>
/// Where this node listens for the other nodes (Akka remoting) and which nodes it joins: SUPERVISOR_CLUSTER_HOST (the
/// address other nodes reach, default 127.0.0.1), SUPERVISOR_CLUSTER_PORT (default: any free port when alone, 4053 in
/// a cluster) and SUPERVISOR_CLUSTER_SEEDS (comma-separated host:port; empty: a one-node cluster).
/// </summary>
public sealed record ClusterSettings(string Host, int Port, IReadOnlyList<string> Seeds)
{
    /// <summary>The name of the actor system on every node (seed addresses name it).</summary>
    public const string SystemName = "supervisor";

    /// <summary>Reads the environment.</summary>
    public static ClusterSettings FromEnvironment()
    {
        var host = Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_HOST") is { Length: > 0 } h ? h.Trim() : "127.0.0.1";
        var seeds = (Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_SEEDS") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Seed)
            .ToList();
        var port = Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_PORT") is { Length: > 0 } p
            ? int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and < 65536
                ? n
                : throw new InvalidOperationException($"SUPERVISOR_CLUSTER_PORT must be a port number, not '{p}'")
            : seeds.Count == 0 ? 0 : 4053;
        return new ClusterSettings(host, port, seeds);
    }

    /// <summary>Several nodes share one journal: SQLite is a file of one machine and one process.</summary>
    public void Check(JournalKind journal)
    {
        if (Seeds.Count > 0 && journal == JournalKind.Sqlite)
            throw new InvalidOperationException(
                "SUPERVISOR_CLUSTER_SEEDS names other nodes, but the journal is SQLite: the nodes of a cluster share one journal, " +
                "so a cluster needs PostgreSQL (SUPERVISOR_JOURNAL=postgres, SUPERVISOR_POSTGRES). Leave SUPERVISOR_CLUSTER_SEEDS empty for one node.");
    }

    /// <summary>
    /// How many supervisor nodes a cluster needs before any of them is Up: a majority of the seeds. The first seed joins
    /// itself when no other answers within seed-node-timeout; restarted during a partition (by a supervisor such as
    /// compose's restart policy, after the split-brain resolver downed it) it would form a cluster of its own beside
    /// the majority's and start their accounts. Held at Joining, it serves none until it reaches the others.
    /// </summary>
    public int MajorityOfSeeds => Seeds.Count / 2 + 1;

    /// <summary>The HOCON of these settings (layered over hocon/supervisor.conf).</summary>
    public string Hocon() => $$"""
        akka.remote.dot-netty.tcp.hostname = "{{Host}}"
        akka.remote.dot-netty.tcp.port = {{Port}}
        akka.remote.dot-netty.tcp.enable-ssl = true
        akka.cluster.seed-nodes = [{{string.Join(", ", Seeds.Select(s => "\"" + s + "\""))}}]
        akka.cluster.role.{{Supervisor.Actors.Cluster.ClusterRoles.Supervisor}}.min-nr-of-members = {{MajorityOfSeeds}}
        """;

    private static string Seed(string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535
            || hostPort[..colon].Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '[' or ']' or ':')))
            throw new InvalidOperationException($"SUPERVISOR_CLUSTER_SEEDS must list host:port entries, not '{hostPort}'");
        return $"akka.ssl.tcp://{SystemName}@{hostPort}";
    }
}

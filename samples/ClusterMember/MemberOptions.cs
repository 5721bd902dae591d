using System.Globalization;

namespace Supervisor.Samples.ClusterMember;

/// <summary>
/// What the sample is told: the seed nodes to join (<c>--seeds host:port,...</c> or CLUSTER_MEMBER_SEEDS: the nodes'
/// remoting addresses), the cluster's remoting certificate (<c>--cert</c> or CLUSTER_MEMBER_CERT, a PKCS#12 file;
/// CLUSTER_MEMBER_CERT_PASSWORD), the account (<c>--did</c>), the address and port the nodes reach this member at
/// (<c>--host</c> or CLUSTER_MEMBER_HOST, default 127.0.0.1; <c>--port</c>, default any free port), the number of account
/// shards (<c>--shards</c>, the nodes' supervisor.accounts.shards, default 100) and how long to print the account's events
/// before leaving (<c>--duration</c> seconds, default 30).
/// </summary>
public sealed record MemberOptions(IReadOnlyList<string> Seeds, string Certificate, string Did, string Host, int Port, int Shards, TimeSpan Duration)
{
    /// <summary>The name of the supervisor's actor system: a member of its cluster has the same name.</summary>
    public const string SupervisorSystem = "supervisor";

    /// <summary>Reads the command line, then the environment.</summary>
    public static MemberOptions Parse(IReadOnlyList<string> args)
    {
        string? Value(string name)
        {
            var i = args.ToList().IndexOf(name);
            return i >= 0 && i + 1 < args.Count ? args[i + 1] : null;
        }

        var seeds = (Value("--seeds") ?? Environment.GetEnvironmentVariable("CLUSTER_MEMBER_SEEDS") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => $"akka.ssl.tcp://{SupervisorSystem}@{s}")
            .ToList();
        if (seeds.Count == 0)
            throw new ArgumentException("no seed node: give the nodes as --seeds host:port,host:port (or CLUSTER_MEMBER_SEEDS)");
        var certificate = Value("--cert") ?? Environment.GetEnvironmentVariable("CLUSTER_MEMBER_CERT")
                          ?? throw new ArgumentException("no certificate: the nodes admit only members with the cluster's remoting certificate (--cert FILE or CLUSTER_MEMBER_CERT)");
        var did = Value("--did") ?? throw new ArgumentException("no account: give its DID as --did did:plc:...");
        var host = Value("--host") ?? Environment.GetEnvironmentVariable("CLUSTER_MEMBER_HOST") ?? "127.0.0.1";
        var port = Value("--port") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : 0;
        var shards = Value("--shards") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : 100;
        var duration = Value("--duration") is { } d ? TimeSpan.FromSeconds(double.Parse(d, CultureInfo.InvariantCulture)) : TimeSpan.FromSeconds(30);
        return new MemberOptions(seeds, certificate, did, host, port, shards, duration);
    }
}

using System.Globalization;

namespace Supervisor.Samples.ExternalClient;

/// <summary>
/// What the sample is told: the nodes to contact (<c>--contacts host:port,...</c> or EXTERNAL_CLIENT_CONTACTS), the
/// address the nodes reach this system at (<c>--host</c> or EXTERNAL_CLIENT_HOST, default 127.0.0.1), the service URL of
/// the imported session (<c>--service</c>, optional), how long to print events (<c>--duration</c> seconds, default 30),
/// whether to try ExportSession (<c>--try-export</c>: refused unless trusted), the cluster's remoting certificate, which
/// the nodes require of every peer (<c>--cert</c> or EXTERNAL_CLIENT_CERT, a PKCS#12 file; EXTERNAL_CLIENT_CERT_PASSWORD),
/// and, for a client the nodes trust with tokens, its name (<c>--trusted NAME</c>) with its secret in EXTERNAL_CLIENT_SECRET
/// (never on the command line, where other users of the machine could read it).
/// </summary>
public sealed record ClientOptions(IReadOnlyList<string> Contacts, string Host, string? Service, TimeSpan Duration, bool TryExport, string Certificate, TrustedClient? Trusted = null)
{
    /// <summary>The name of the supervisor's actor system on every node.</summary>
    public const string SupervisorSystem = "supervisor";

    /// <summary>Reads the command line, then the environment.</summary>
    public static ClientOptions Parse(IReadOnlyList<string> args)
    {
        string? Value(string name)
        {
            var i = args.ToList().IndexOf(name);
            return i >= 0 && i + 1 < args.Count ? args[i + 1] : null;
        }

        var contacts = (Value("--contacts") ?? Environment.GetEnvironmentVariable("EXTERNAL_CLIENT_CONTACTS") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => $"akka.ssl.tcp://{SupervisorSystem}@{c}/system/receptionist")
            .ToList();
        if (contacts.Count == 0)
            throw new ArgumentException("no contact: give the nodes as --contacts host:port,host:port (or EXTERNAL_CLIENT_CONTACTS)");
        var host = Value("--host") ?? Environment.GetEnvironmentVariable("EXTERNAL_CLIENT_HOST") ?? "127.0.0.1";
        var duration = Value("--duration") is { } d
            ? TimeSpan.FromSeconds(double.Parse(d, CultureInfo.InvariantCulture))
            : TimeSpan.FromSeconds(30);
        var certificate = Value("--cert") ?? Environment.GetEnvironmentVariable("EXTERNAL_CLIENT_CERT")
                          ?? throw new ArgumentException("no certificate: the nodes admit only peers with the cluster's remoting certificate (--cert FILE or EXTERNAL_CLIENT_CERT)");
        TrustedClient? trusted = null;
        if (Value("--trusted") is { Length: > 0 } name)
            trusted = new TrustedClient(name, Environment.GetEnvironmentVariable("EXTERNAL_CLIENT_SECRET") is { Length: > 0 } secret
                ? secret
                : throw new ArgumentException("--trusted needs the client's secret in EXTERNAL_CLIENT_SECRET"));
        return new ClientOptions(contacts, host, Value("--service"), duration, args.Contains("--try-export"), certificate, trusted);
    }
}

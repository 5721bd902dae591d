using Akka.Configuration;

namespace Supervisor.Host.Proxy;

/// <summary>
/// How requests pass through the supervisor to an account's PDS, read from HOCON <c>supervisor.proxy</c>
/// (see hocon/supervisor.conf for each key). Its sets of methods ignore case, as the reference PDS's routes do
/// (<c>com.atproto.server.CreateAppPassword</c> runs <c>createAppPassword</c> there).
/// </summary>
public sealed record ProxySettings
{
    /// <summary>The largest body of an ordinary procedure (bytes); such bodies are buffered and retried once after ExpiredToken.</summary>
    public long BodyLimit { get; init; } = 1024 * 1024;

    /// <summary>The largest body of an upload method (bytes); uploads are streamed to the PDS, never buffered.</summary>
    public long UploadLimit { get; init; } = 5 * 1024 * 1024;

    /// <summary>The most requests one account has passing through at once; one more is answered 429 at once.</summary>
    public int MaxInFlight { get; init; } = 64;

    /// <summary>The most HTTP connections the host holds open at once; 0: half of the process's open-file limit.</summary>
    public long MaxConnections { get; init; }

    /// <summary>The methods whose bodies are uploads (blobs, repositories).</summary>
    public IReadOnlySet<string> UploadMethods { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "com.atproto.repo.uploadBlob", "com.atproto.repo.importRepo",
    };

    /// <summary>
    /// Methods that mint credentials, end the account or reach its direct messages (a name, or a namespace ending in <c>.*</c>):
    /// an account key reaches them only when issued with them.
    /// </summary>
    public IReadOnlySet<string> PrivilegedMethods { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "com.atproto.server.createAppPassword", "com.atproto.server.revokeAppPassword", "com.atproto.server.listAppPasswords",
        "com.atproto.server.deleteAccount", "com.atproto.server.requestAccountDelete", "com.atproto.server.deactivateAccount",
        "com.atproto.server.updateEmail", "com.atproto.server.requestEmailUpdate", "com.atproto.server.getServiceAuth",
        "com.atproto.server.createInviteCode", "com.atproto.server.createInviteCodes", "com.atproto.server.reserveSigningKey",
        "com.atproto.identity.updateHandle", "com.atproto.identity.requestPlcOperationSignature",
        "com.atproto.identity.signPlcOperation", "com.atproto.identity.submitPlcOperation",
        "com.atproto.server.activateAccount", "com.atproto.server.confirmEmail", "com.atproto.server.requestEmailConfirmation",
        "com.atproto.server.getAccountInviteCodes",
        // Replacing the whole repository, and the service token a new PDS asks for to take the account (the reference PDS
        // refuses both to app passwords).
        "com.atproto.repo.importRepo", "com.atproto.server.createAccount",
        // The direct messages (those the reference PDS refuses to app passwords not made for them, and those to come).
        "chat.bsky.*",
    };

    /// <summary>Session methods the supervisor answers itself (at /xrpc) or refuses to pass on: it owns each account's session.</summary>
    public IReadOnlySet<string> SessionMethods { get; init; } = Supervisor.Actors.Pds.PdsClient.SessionMethods;

    /// <summary>Lifetime of the access tokens of key sessions (createSession at the supervisor).</summary>
    public TimeSpan SessionAccessLifetime { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Lifetime of the refresh tokens of key sessions (capped by the key's own expiry).</summary>
    public TimeSpan SessionRefreshLifetime { get; init; } = TimeSpan.FromDays(90);

    /// <summary>The body limit of <paramref name="nsid"/>.</summary>
    public long LimitFor(string nsid) => UploadMethods.Contains(nsid) ? UploadLimit : BodyLimit;

    /// <summary>Reads <c>supervisor.proxy</c>; missing keys keep the defaults.</summary>
    public static ProxySettings From(Config? section)
    {
        var d = new ProxySettings();
        if (section is null || section.IsEmpty) return d;
        static IReadOnlySet<string> Set(Config c, string key, IReadOnlySet<string> fallback) =>
            c.HasPath(key) ? c.GetStringList(key).ToHashSet(StringComparer.OrdinalIgnoreCase) : fallback;
        return new ProxySettings
        {
            BodyLimit = section.GetByteSize("body-limit") ?? d.BodyLimit,
            UploadLimit = section.GetByteSize("upload-limit") ?? d.UploadLimit,
            MaxInFlight = section.GetInt("max-in-flight", d.MaxInFlight) is >= 1 and var most
                ? most
                : throw new ConfigurationException("supervisor.proxy.max-in-flight must be at least 1"),
            MaxConnections = section.GetLong("max-connections", d.MaxConnections) is >= 0 and var connections
                ? connections
                : throw new ConfigurationException("supervisor.proxy.max-connections must be 0 (half the open-file limit) or more"),
            UploadMethods = Set(section, "upload-methods", d.UploadMethods),
            PrivilegedMethods = Set(section, "privileged-methods", d.PrivilegedMethods),
            SessionAccessLifetime = section.GetTimeSpan("session-access-lifetime", d.SessionAccessLifetime),
            SessionRefreshLifetime = section.GetTimeSpan("session-refresh-lifetime", d.SessionRefreshLifetime),
        };
    }
}

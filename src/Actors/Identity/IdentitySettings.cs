using Akka.Configuration;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Identity;

/// <summary>
/// Where and how DIDs and handles are resolved, read from the HOCON section <c>supervisor.identity</c>
/// (see hocon/supervisor.conf for each key's meaning).
/// </summary>
public sealed record IdentitySettings
{
    /// <summary>The PLC directory that did:plc documents are read from (no trailing slash).</summary>
    public string PlcDirectory { get; init; } = "https://plc.directory";

    /// <summary>
    /// An XRPC service answering com.atproto.identity.resolveHandle that resolves every handle; empty: handles
    /// are resolved on their own (DNS TXT <c>_atproto.HANDLE</c>, then <c>https://HANDLE/.well-known/atproto-did</c>).
    /// </summary>
    public string HandleResolver { get; init; } = "";

    /// <summary>How long one lookup (one HTTP call or one DNS query) may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a successful resolution is reused; zero: never.</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The most DID documents, and the most handles, held in the cache.</summary>
    public int CacheSize { get; init; } = 10_000;

    /// <summary>
    /// Reads the settings from a <c>supervisor.identity</c> config section; missing keys keep the defaults.
    /// A URL that is not absolute http(s) is a <see cref="ConfigurationException"/>.
    /// </summary>
    public static IdentitySettings From(Config? section)
    {
        var d = new IdentitySettings();
        if (section is null || section.IsEmpty) return d;
        var resolver = section.GetString("handle-resolver", d.HandleResolver) ?? "";
        return new IdentitySettings
        {
            PlcDirectory = Url(section.GetString("plc-directory", d.PlcDirectory), "plc-directory"),
            HandleResolver = resolver.Trim().Length == 0 ? "" : Url(resolver, "handle-resolver"),
            Timeout = section.GetTimeSpan("timeout", d.Timeout),
            CacheTtl = section.GetTimeSpan("cache-ttl", d.CacheTtl),
            CacheSize = Math.Max(1, section.GetInt("cache-size", d.CacheSize)),
        };
    }

    private static string Url(string? text, string key) =>
        ServiceUrl.TryNormalize(text, out var url)
            ? url
            : throw new ConfigurationException($"supervisor.identity.{key} is not an absolute http(s) URL");
}

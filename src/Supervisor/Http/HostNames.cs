using System.Net;

namespace Supervisor.Host.Http;

/// <summary>
/// Answers only requests whose <c>Host</c> is an IP address, <c>localhost</c>, a name the supervisor listens on (from
/// <c>--urls</c>) or one listed in <c>SUPERVISOR_HOST_NAMES</c>; any other is a 400. A web page cannot read another
/// site's answers, but one that points its own name at this host's address (DNS rebinding) becomes the same site as the
/// supervisor in the browser's eyes; its requests still carry its own name in <c>Host</c>, and are refused here, so the
/// open routes (<c>/metrics</c>, <c>/healthz</c>) tell it nothing.
/// </summary>
public sealed class HostNames(RequestDelegate next, HostNames.Allowed allowed)
{
    /// <summary>The names besides IP addresses and <c>localhost</c> (case-insensitive); <see cref="Any"/> for every name.</summary>
    public sealed record Allowed(IReadOnlySet<string> Names, bool Any)
    {
        /// <summary>
        /// The names in <paramref name="listed"/> (<c>SUPERVISOR_HOST_NAMES</c>: comma-separated, <c>*</c> for any), the host
        /// names of <paramref name="urls"/> (wildcards such as <c>*</c>, <c>+</c> or <c>0.0.0.0</c> name nothing) and
        /// <paramref name="ownNames"/> (the machine's name, the cluster host: names a deployment calls its nodes by, which
        /// no page can make a browser resolve to this host). A listed entry that is not a bare host name (a port, a scheme,
        /// a pattern) stops the start: it would match nothing.
        /// </summary>
        public static Allowed From(string? listed, IEnumerable<string> urls, IEnumerable<string> ownNames)
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var any = false;
            foreach (var entry in (listed ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (entry == "*") any = true;
                else if (Uri.CheckHostName(entry.TrimEnd('.')) == UriHostNameType.Dns) names.Add(entry.TrimEnd('.'));
                else throw new InvalidOperationException($"SUPERVISOR_HOST_NAMES: \"{entry}\" is not a host name (no scheme, port or pattern)");
            }
            foreach (var url in urls)
                if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.HostNameType == UriHostNameType.Dns) names.Add(uri.IdnHost);
            foreach (var name in ownNames)
                if (Uri.CheckHostName(name) == UriHostNameType.Dns) names.Add(name);
            return new Allowed(names, any);
        }

        /// <summary>True when a request naming <paramref name="host"/> (without its port) is answered.</summary>
        public bool Admits(string host)
        {
            if (Any || host.Length == 0) return true;
            host = host.TrimEnd('.');
            return IPAddress.TryParse(host.Trim('[', ']'), out _) || host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || Names.Contains(host);
        }
    }

    /// <summary>Passes the request on, or answers 400 when its Host names another site.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        if (allowed.Admits(context.Request.Host.Host)) return next(context);
        return ApiJson.Error(400, "InvalidRequest",
            "the Host header names a site this supervisor does not go by; list the name in SUPERVISOR_HOST_NAMES").ExecuteAsync(context);
    }
}

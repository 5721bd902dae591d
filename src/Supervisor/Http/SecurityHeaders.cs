namespace Supervisor.Host.Http;

/// <summary>
/// Headers on every answer, so that nothing the supervisor serves (a PDS's answer passed through above all) can
/// run as a page of its origin: <c>nosniff</c>, a Content-Security-Policy that forbids scripts and sandboxes the
/// document (the status page sets its own, stricter one for a page without scripts), no framing, no referrer,
/// and <c>Cache-Control: no-store</c> unless the answer set its own (a PDS's caching headers pass through, made
/// <c>private</c> for a request with credentials).
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    /// <summary>The policy of every answer but the status page: nothing loads, nothing runs, the document is sandboxed.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox";

    /// <summary>The status page's policy: its own inline styles and nothing else; no scripts, no outside resources.</summary>
    public const string PagePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    /// <summary>Sets the headers as the answer starts.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        // A static callback with the context as its state: no closure to allocate per request.
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpContext)state).Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            if (string.IsNullOrEmpty(headers.ContentSecurityPolicy)) headers.ContentSecurityPolicy = ApiPolicy;
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            var context = (HttpContext)state;
            if (string.IsNullOrEmpty(headers.CacheControl)) headers.CacheControl = "no-store";
            else if (context.Request.Headers.ContainsKey("Authorization")) headers.CacheControl = Private(headers.CacheControl.ToString());
            return Task.CompletedTask;
        }, context);
        return next(context);
    }

    /// <summary>
    /// A PDS's caching header, for an answer to a request with credentials: <c>private</c>, without <c>public</c>,
    /// <c>s-maxage</c> and a <c>private</c> that names fields (which makes only those private, RFC 9111 5.2.2.7, and
    /// with <c>must-revalidate</c> lets a shared cache store the rest). Every account's clients ask the same URLs of the
    /// supervisor, so an answer a shared cache in front of it stored would be served to another account.
    /// </summary>
    public static string Private(string cacheControl)
    {
        var kept = Directives(cacheControl)
            .Where(d => !d.Equals("public", StringComparison.OrdinalIgnoreCase) && !d.StartsWith("s-maxage", StringComparison.OrdinalIgnoreCase)
                        && !(d.StartsWith("private", StringComparison.OrdinalIgnoreCase) && d.Length > "private".Length))
            .ToList();
        if (!kept.Any(d => d.Equals("private", StringComparison.OrdinalIgnoreCase) || d.Equals("no-store", StringComparison.OrdinalIgnoreCase)))
            kept.Insert(0, "private");
        return string.Join(", ", kept);
    }

    /// <summary>The directives of a <c>Cache-Control</c> value, trimmed: split at the commas outside quoted strings.</summary>
    private static IEnumerable<string> Directives(string cacheControl)
    {
        var (start, quoted) = (0, false);
        for (var i = 0; i <= cacheControl.Length; i++)
        {
            if (i < cacheControl.Length && cacheControl[i] == '"' && (i == 0 || cacheControl[i - 1] != '\\')) quoted = !quoted;
            if (i < cacheControl.Length && (quoted || cacheControl[i] != ',')) continue;
            var directive = cacheControl[start..i].Trim();
            if (directive.Length > 0) yield return directive;
            start = i + 1;
        }
    }
}

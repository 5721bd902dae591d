namespace Supervisor.Actors.Session;

/// <summary>
/// Checks and normalizes the URL of an atproto service (entryway or PDS): absolute http or https, with no
/// user info (credentials do not belong in a URL that is stored, logged and shown), no query and no fragment.
/// </summary>
public static class ServiceUrl
{
    /// <summary>True for an acceptable URL; the result has no trailing slash.</summary>
    public static bool TryNormalize(string? text, out string url) => TryNormalize(text, out url, out _);

    /// <summary>
    /// True for an acceptable URL (the result has no trailing slash); otherwise <paramref name="problem"/> says
    /// what is wrong, as a predicate ("is not an absolute http(s) URL"), and never repeats the URL.
    /// </summary>
    public static bool TryNormalize(string? text, out string url, out string? problem)
    {
        url = "";
        problem = null;
        if (string.IsNullOrWhiteSpace(text)
            || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            problem = "is not an absolute http(s) URL";
        else if (uri.UserInfo.Length > 0)
            problem = "must not contain a user name or password";
        else if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || text.IndexOfAny(['?', '#']) >= 0)
            problem = "must not have a query or a fragment";
        else
        {
            // One spelling per server: its host in ASCII (punycode) without the root's trailing dot, as the login budget
            // and the servers' limits are kept by it (bsky.social. is bsky.social).
            var host = uri.IdnHost.TrimEnd('.');
            if (host.Length > 0 && host != uri.Host) uri = new UriBuilder(uri) { Host = host }.Uri;
            url = uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }
        return problem is null;
    }

    /// <summary>The normalized URL, or a <see cref="SessionFormatException"/> naming the field and what is wrong.</summary>
    public static string Require(string? text, string field) =>
        TryNormalize(text, out var url, out var problem)
            ? url
            : throw new SessionFormatException($"'{field}' {problem}");
}

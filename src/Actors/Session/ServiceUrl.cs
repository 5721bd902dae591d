namespace Supervisor.Actors.Session;

/// <summary>Checks and normalizes the URL of an atproto service (entryway or PDS).</summary>
public static class ServiceUrl
{
    /// <summary>True for an absolute http or https URL; the result has no trailing slash.</summary>
    public static bool TryNormalize(string? text, out string url)
    {
        url = "";
        if (string.IsNullOrWhiteSpace(text)
            || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return false;
        url = uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return true;
    }

    /// <summary>The normalized URL, or a <see cref="SessionFormatException"/> naming the field.</summary>
    public static string Require(string? text, string field) =>
        TryNormalize(text, out var url)
            ? url
            : throw new SessionFormatException($"'{field}' is not an absolute http(s) URL");
}

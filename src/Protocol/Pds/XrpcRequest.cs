using System.Text;

namespace Supervisor.Actors.Pds;

/// <summary>Whether an XRPC method is a query (GET) or a procedure (POST).</summary>
public enum XrpcMethodKind
{
    /// <summary>GET with parameters in the query string.</summary>
    Query,

    /// <summary>POST with a body (JSON unless said otherwise).</summary>
    Procedure,
}

/// <summary>
/// One XRPC call as a caller describes it: method NSID, kind, query parameters, the body as bytes with its
/// content type, and the XRPC headers to pass on (the supervisor's XrpcHeaders.Request; others are dropped).
/// </summary>
public sealed record XrpcRequest(
    string Nsid,
    XrpcMethodKind Kind,
    IReadOnlyList<KeyValuePair<string, string>>? Parameters = null,
    byte[]? Body = null,
    string ContentType = "application/json",
    IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>A query (GET).</summary>
    public static XrpcRequest Query(string nsid, params (string Name, string Value)[] parameters) =>
        new(nsid, XrpcMethodKind.Query, parameters.Select(p => KeyValuePair.Create(p.Name, p.Value)).ToList());

    /// <summary>A procedure (POST) with a JSON body.</summary>
    public static XrpcRequest Procedure(string nsid, string? jsonBody) =>
        new(nsid, XrpcMethodKind.Procedure, Body: jsonBody is null ? null : Encoding.UTF8.GetBytes(jsonBody));

    /// <summary>A procedure (POST) with a body of any content type.</summary>
    public static XrpcRequest Procedure(string nsid, byte[] body, string contentType) =>
        new(nsid, XrpcMethodKind.Procedure, Body: body, ContentType: contentType);

    /// <summary>True when the NSID looks like one (segments of letters, digits and hyphens, at least three).</summary>
    public static bool IsValidNsid(string? nsid)
    {
        if (string.IsNullOrEmpty(nsid) || nsid.Length > 317) return false;
        // Read in one pass, nothing made (every request through the supervisor is checked).
        var (segments, length) = (1, 0);
        foreach (var c in nsid)
        {
            if (c == '.')
            {
                if (length == 0) return false;
                (segments, length) = (segments + 1, 0);
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '-') length++;
            else return false;
        }
        return length > 0 && segments >= 3;
    }

    /// <inheritdoc />
    public override string ToString() => $"XrpcRequest {{ Nsid = {Nsid}, Kind = {Kind}, BodyBytes = {Body?.Length ?? 0} }}";
}

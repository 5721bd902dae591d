using System.Text.Json;

namespace Supervisor.Actors.Session;

/// <summary>
/// A session brought in from outside: the lex-password-session <c>SessionData</c> JSON (the
/// createSession output plus <c>service</c>) or the Python SDK's session string
/// (<c>handle:::did:::accessJwt:::refreshJwt:::pdsEndpoint</c>, or its older 4-field form).
/// </summary>
public sealed record ImportedSession(SessionGrant Grant, string Service)
{
    /// <summary>The service used when neither the input nor the caller names one.</summary>
    public const string DefaultService = "https://bsky.social";

    private const string Separator = ":::";

    /// <summary>
    /// Where the refreshes of an imported session go, once its DID document named <paramref name="pds"/> as the account's
    /// PDS: the text's older form (four fields) names no server and was taken as <see cref="DefaultService"/>'s, which is
    /// right for an account that bsky.social hosts (its PDS a host of bsky.network, its tokens the entryway's) and would
    /// send the refresh token of any other account to a server that never issued it: such an account's is its PDS.
    /// </summary>
    public static string ServiceAfterVerification(string service, string? namedPds, string pds) =>
        service == DefaultService && namedPds is null
        && !new Uri(pds).Host.EndsWith(".bsky.network", StringComparison.OrdinalIgnoreCase)
            ? pds
            : service;

    /// <summary>
    /// Parses either format. <paramref name="service"/>, when given, is the login service and wins over
    /// what the input says. Throws <see cref="SessionFormatException"/> naming what is wrong.
    /// </summary>
    public static ImportedSession Parse(string? text, string? service = null)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new SessionFormatException("the session is empty");
        var trimmed = text.Trim();
        return trimmed.StartsWith('{') ? ParseSessionData(trimmed, service) : ParseSessionString(trimmed, service);
    }

    /// <summary>Parses lex-password-session <c>SessionData</c> JSON.</summary>
    public static ImportedSession ParseSessionData(string json, string? service = null)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SessionFormatException($"the session JSON does not parse (line {e.LineNumber + 1}, byte {e.BytePositionInLine})");
        }
        using (doc)
        {
            var grant = SessionGrant.Parse(doc.RootElement);
            var named = service ?? SessionGrant.OptionalString(doc.RootElement, "service");
            var resolved = named is null
                ? grant.PdsEndpoint ?? throw new SessionFormatException("'service' is missing")
                : ServiceUrl.Require(named, "service");
            return new ImportedSession(grant, resolved);
        }
    }

    /// <summary>Parses the Python SDK's session string (5 fields, or the older 4).</summary>
    public static ImportedSession ParseSessionString(string text, string? service = null)
    {
        var fields = text.Split(Separator);
        if (fields.Length is not (4 or 5))
            throw new SessionFormatException(
                $"the session string has {fields.Length} ':::'-separated fields; expected handle:::did:::accessJwt:::refreshJwt[:::pdsEndpoint]");
        var (handle, did) = (SessionGrant.Bounded("handle", fields[0].Trim()), SessionGrant.Bounded("did", fields[1].Trim()));
        if (handle.Length == 0) throw new SessionFormatException("the session string's handle is empty");
        if (!did.StartsWith("did:", StringComparison.Ordinal))
            throw new SessionFormatException("the session string's second field is not a DID");
        var tokens = SessionTokens.From(fields[2].Trim(), fields[3].Trim(), did, "the session string's");
        var pds = fields.Length == 5 && fields[4].Trim().Length > 0 ? ServiceUrl.Require(fields[4], "pdsEndpoint") : null;
        var resolved = service is not null ? ServiceUrl.Require(service, "service") : pds ?? DefaultService;
        return new ImportedSession(new SessionGrant(did, handle, tokens, PdsEndpoint: pds), resolved);
    }
}

using System.Text.Json;

namespace Supervisor.Actors.Session;

/// <summary>
/// What a PDS hands out when it creates or refreshes a session (createSession, refreshSession,
/// createAccount output): the token pair, the account's identity and status, and its PDS endpoint
/// from the DID document when one came with it.
/// </summary>
public sealed record SessionGrant(
    string Did,
    string Handle,
    SessionTokens Tokens,
    string? Email = null,
    bool? EmailConfirmed = null,
    bool Active = true,
    string? Status = null,
    string? PdsEndpoint = null)
{
    /// <summary>
    /// Reads a session response body. Throws <see cref="SessionFormatException"/> saying which field is
    /// missing or malformed.
    /// </summary>
    public static SessionGrant Parse(JsonElement body) => Parse(body, null);

    /// <summary>
    /// Reads a refreshSession answer of the account whose handle is <paramref name="handle"/>: its DID and tokens as
    /// strictly as <see cref="Parse(JsonElement)"/>, but a handle, e-mail or status that cannot be read (missing, too long,
    /// not valid UTF-8) does not cost the pair: the PDS has rotated it already, and the old refresh token lives only two
    /// hours more. The account keeps <paramref name="handle"/>; the e-mail and status are left out.
    /// </summary>
    public static SessionGrant ParseRefreshed(JsonElement body, string handle) => Parse(body, handle);

    private static SessionGrant Parse(JsonElement body, string? handleIfUnreadable)
    {
        try
        {
            return Read(body, handleIfUnreadable);
        }
        catch (InvalidOperationException)
        {
            // JsonElement.GetString on a string that is not UTF-8.
            throw new SessionFormatException("the session holds a string that is not valid UTF-8");
        }
    }

    private static SessionGrant Read(JsonElement body, string? handleIfUnreadable)
    {
        var lenient = handleIfUnreadable is not null;
        if (body.ValueKind != JsonValueKind.Object)
            throw new SessionFormatException("the session is not a JSON object");
        var did = Bounded("did", RequiredString(body, "did"));
        if (!did.StartsWith("did:", StringComparison.Ordinal))
            throw new SessionFormatException("'did' is not a DID (it must start with 'did:')");
        // Strict, a field that cannot be read throws; lenient, it is null.
        string? Field(Func<string?> read) => lenient ? OrNull(read) : read();
        var handle = Field(() => Bounded("handle", RequiredString(body, "handle"))) ?? handleIfUnreadable!;
        var tokens = SessionTokens.From(RequiredString(body, "accessJwt"), RequiredString(body, "refreshJwt"), did);
        return new SessionGrant(
            did,
            handle,
            tokens,
            Email: Field(() => Bounded("email", OptionalString(body, "email"))),
            EmailConfirmed: body.TryGetProperty("emailConfirmed", out var ec) && ec.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? ec.GetBoolean()
                : null,
            Active: !body.TryGetProperty("active", out var active) || active.ValueKind != JsonValueKind.False,
            Status: Field(() => Bounded("status", OptionalString(body, "status"))),
            PdsEndpoint: body.TryGetProperty("didDoc", out var didDoc) ? DidDocument.PdsEndpoint(didDoc) : null);
    }

    /// <summary>What <paramref name="read"/> reads, or null when it cannot (a <see cref="SessionFormatException"/>, a string that is not UTF-8).</summary>
    private static string? OrNull(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is SessionFormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The longest DID, handle, e-mail or status read from a session (characters; a DID's own limit is 2 KB).</summary>
    public const int LongestField = 2048;

    /// <summary><paramref name="value"/>, or a <see cref="SessionFormatException"/> when it is longer than <see cref="LongestField"/>.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(value))]
    internal static string? Bounded(string name, string? value) => value is { Length: > LongestField }
        ? throw new SessionFormatException($"'{name}' is longer than {LongestField} characters ({value.Length})")
        : value;

    internal static string RequiredString(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value))
            throw new SessionFormatException($"'{name}' is missing");
        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            throw new SessionFormatException($"'{name}' is not a non-empty string");
        return value.GetString()!;
    }

    internal static string? OptionalString(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String) return null;
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            // JsonElement.GetString on a string that is not UTF-8 (a lone surrogate's escape).
            throw new SessionFormatException($"'{name}' is a string that is not valid UTF-8");
        }
    }
}

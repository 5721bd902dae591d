namespace Supervisor.Actors.Identity;

/// <summary>
/// What a DID's document says: its PDS (the <c>#atproto_pds</c> service of type AtprotoPersonalDataServer,
/// normalised; null when the document names none) and the handles it claims (the <c>at://</c> entries of
/// <c>alsoKnownAs</c> that are valid handles, normalised, in document order: the first is the primary one).
/// On failure <see cref="Error"/> and <see cref="Reason"/> say why (never a secret).
/// </summary>
public sealed record DidResolution(string Did, string? PdsEndpoint, IReadOnlyList<string> Handles, IdentityError Error, string Reason)
{
    /// <summary>True when the document was read.</summary>
    public bool Succeeded => Error == IdentityError.None;

    /// <summary>True when the failure may go away by itself (a timeout, an unreachable or overloaded server).</summary>
    public bool IsTransient => Error is IdentityError.Timeout or IdentityError.Unavailable;

    /// <summary>True when the document lists <c>at://HANDLE</c> (in any letter case).</summary>
    public bool Claims(string handle) =>
        HandleSyntax.TryNormalize(handle, out var normal) && Handles.Contains(normal, StringComparer.Ordinal);

    /// <summary>A document read.</summary>
    public static DidResolution Resolved(string did, string? pdsEndpoint, IReadOnlyList<string> handles) =>
        new(did, pdsEndpoint, handles, IdentityError.None, "resolved");

    /// <summary>A DID that could not be resolved.</summary>
    public static DidResolution Failed(string did, IdentityError error, string reason) =>
        new(did, null, [], error, reason);
}

namespace Supervisor.Actors.Identity;

/// <summary>
/// The DID a handle points to, and how that was found (<see cref="Method"/>: "resolver", "dns" or "https");
/// on failure <see cref="Error"/> and <see cref="Reason"/> say why (never a secret), and the method says what
/// was tried ("syntax", "resolver", "dns-conflict" for conflicting TXT records, "dns+https").
/// </summary>
public sealed record HandleResolution(string Handle, string? Did, string Method, IdentityError Error, string Reason)
{
    /// <summary>True when the handle resolved to a valid DID.</summary>
    public bool Succeeded => Error == IdentityError.None;

    /// <summary>True when the failure may go away by itself (a timeout, an unreachable or overloaded server).</summary>
    public bool IsTransient => Error is IdentityError.Timeout or IdentityError.Unavailable;

    /// <summary>A handle resolved to <paramref name="did"/>.</summary>
    public static HandleResolution Resolved(string handle, string did, string method) =>
        new(handle, did, method, IdentityError.None, $"resolved by {method}");

    /// <summary>A handle that could not be resolved.</summary>
    public static HandleResolution Failed(string handle, string method, IdentityError error, string reason) =>
        new(handle, null, method, error, reason);
}

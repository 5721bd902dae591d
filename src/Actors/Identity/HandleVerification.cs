namespace Supervisor.Actors.Identity;

/// <summary>
/// Whether <see cref="Handle"/> belongs to <see cref="Did"/> (bidirectionally: the DID document claims the handle
/// and the handle resolves to the DID), which check failed otherwise, and why (never a secret). The DID
/// document read on the way, when there was one, is in <see cref="Document"/>.
/// </summary>
public sealed record HandleVerification(
    string Did, string Handle, HandleCheck FailedCheck, IdentityError Error, string Reason, DidResolution? Document)
{
    /// <summary>True when the handle is verified for the DID.</summary>
    public bool Verified => FailedCheck == HandleCheck.None;

    /// <summary>True when the failure may go away by itself (a timeout, an unreachable or overloaded server).</summary>
    public bool IsTransient => Error is IdentityError.Timeout or IdentityError.Unavailable;
}

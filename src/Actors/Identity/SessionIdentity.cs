using Supervisor.Actors.Account;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Identity;

/// <summary>
/// What the identity check made of a new session: the session to adopt (its PDS and handle as verified), or why it
/// is refused. <see cref="UnverifiedHandle"/> is the handle the server claimed when it could not be verified.
/// </summary>
public sealed record IdentityVerdict(SessionGrant? Grant, SessionRejection? Rejection, XrpcError? Error, string? UnverifiedHandle = null);

/// <summary>
/// Verifies a new session (a login, an account creation, an import) against the DID's own document instead of
/// believing the server that handed it out:
/// <list type="bullet">
/// <item>the DID document is resolved independently (PLC directory, did:web), afresh, and the PDS the account will use is the
/// document's <c>#atproto_pds</c>, never what the answer or the imported text says;</item>
/// <item>when the session came from another service than that PDS (an entryway, or a stranger), or from an imported
/// text (whose service is whatever the text says, and whose tokens no server handed out here), its access token must
/// be good at that PDS (getSession answers for the same DID; an expired but genuine token answers ExpiredToken, which
/// is proof enough for an account without a session here, never to replace one it holds: old tokens leak);</item>
/// <item>an account already supervised at another PDS is not taken over (409);</item>
/// <item>the handle is taken only when it is valid and verified both ways; else the last verified one stays.</item>
/// </list>
/// </summary>
public static class SessionIdentity
{
    /// <summary>The handle of an account with no verified handle (as the PDS uses it).</summary>
    public const string InvalidHandle = "handle.invalid";

    /// <summary>
    /// Checks <paramref name="grant"/>, which came from <paramref name="service"/>, for an account whose session is held
    /// at <paramref name="supervisedAtPds"/> (null: none is held, or the account is not supervised) that <paramref name="holdsSession"/> or not;
    /// <paramref name="imported"/> when the grant is an imported text, not a server's answer.
    /// </summary>
    public static async Task<IdentityVerdict> VerifyAsync(
        IdentityResolver resolver, PdsClient client, SessionGrant grant, string service, string? supervisedAtPds, string? lastVerifiedHandle,
        bool holdsSession = false, bool imported = false)
    {
        // Read afresh: a document cached before the account moved to another PDS would send the new PDS's token to the
        // one it left, as the proof, and pin the account there.
        resolver.Forget(grant.Did);
        var doc = await resolver.ResolveDidAsync(grant.Did).ConfigureAwait(false);
        if (!doc.Succeeded)
            return Refused(doc.IsTransient ? SessionRejection.ServiceUnavailable : SessionRejection.IdentityUnverified,
                $"the DID document of {grant.Did} could not be read: {doc.Reason}");
        if (doc.PdsEndpoint is not { } pds)
            return Refused(SessionRejection.IdentityUnverified, $"the DID document of {grant.Did} names no PDS");
        if (!Encrypted(pds, service))
            return Refused(SessionRejection.IdentityUnverified,
                $"the DID document of {grant.Did} names a PDS over plain http ({new Uri(pds).Authority}): its tokens would cross the network unencrypted");
        if (supervisedAtPds is not null && !SameServer(supervisedAtPds, pds))
            return new IdentityVerdict(null, SessionRejection.AccountConflict, new XrpcError("AccountExists",
                $"{grant.Did} is supervised at {supervisedAtPds}; this session is for {pds}: log the account out first"));
        if (imported || !SameServer(service, pds))
        {
            var from = imported ? "the imported session" : $"the session from {new Uri(service).Authority}";
            var proof = await client.SendAsync(pds, XrpcRequest.Query("com.atproto.server.getSession"), grant.Tokens.AccessJwt).ConfigureAwait(false);
            if (proof.IsTransportFailure || proof.Status >= 500)
                return Refused(SessionRejection.ServiceUnavailable, $"the account's PDS {pds} could not confirm the session: {proof.Error?.Message}");
            var expired = proof.Error?.Error == "ExpiredToken";
            if (expired && holdsSession)
                return Refused(SessionRejection.IdentityUnverified,
                    $"{from} has an access token that has expired at {grant.Did}'s own PDS {pds}: it cannot replace the session the supervisor holds (log in, or import a session whose access token is live)");
            if (!(proof.IsSuccess && proof.TryReadString("did") == grant.Did || expired))
                return Refused(SessionRejection.IdentityUnverified, $"{from} is not valid at {grant.Did}'s own PDS {pds}");
        }
        var verification = await resolver.VerifyHandleAsync(grant.Did, grant.Handle, doc).ConfigureAwait(false);
        if (verification.Verified)
            return new IdentityVerdict(grant with { PdsEndpoint = pds, Handle = HandleSyntax.Normalize(grant.Handle) }, null, null);
        // The last verified handle stays while it still verifies: checked again when it is not the one that has just
        // failed (the document read now may no longer list it, its name may resolve to another account now). It goes when
        // it resolves elsewhere or is no longer listed; a handle that did not answer stays.
        var kept = lastVerifiedHandle;
        if (kept is not null && !string.Equals(grant.Handle, kept, StringComparison.OrdinalIgnoreCase))
            verification = await resolver.VerifyHandleAsync(grant.Did, kept, doc).ConfigureAwait(false);
        if (kept is not null && verification.FailedCheck is HandleCheck.SameDid or HandleCheck.AlsoKnownAs) kept = null;
        return new IdentityVerdict(grant with { PdsEndpoint = pds, Handle = kept is null ? InvalidHandle : HandleSyntax.Normalize(kept) }, null, null, grant.Handle);
    }

    /// <summary>
    /// Whether the account's tokens may go to <paramref name="pds"/>: over https, or over plain http only to this machine
    /// (a loopback address, <c>localhost</c>) or to the very server the operator named as the session's service (a PDS
    /// of a private network, logged in to by its own address). A document naming any other http server would send the
    /// tokens across the network unencrypted.
    /// </summary>
    public static bool Encrypted(string pds, string service)
    {
        if (!Uri.TryCreate(pds, UriKind.Absolute, out var uri)) return false;
        if (uri.Scheme == Uri.UriSchemeHttps) return true;
        return uri.IsLoopback || uri.IdnHost.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) || SameServer(pds, service);
    }

    /// <summary>True when two URLs name the same server (scheme, host and port).</summary>
    public static bool SameServer(string a, string b) =>
        Uri.TryCreate(a, UriKind.Absolute, out var x) && Uri.TryCreate(b, UriKind.Absolute, out var y)
        && x.Scheme == y.Scheme && string.Equals(x.IdnHost, y.IdnHost, StringComparison.OrdinalIgnoreCase) && x.Port == y.Port;

    private static IdentityVerdict Refused(SessionRejection reason, string message) =>
        new(null, reason, new XrpcError("IdentityUnverified", message));

}

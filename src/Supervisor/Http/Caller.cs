using Supervisor.Actors.Keys;

namespace Supervisor.Host.Http;

/// <summary>Who is asking, as the authentication middleware found out.</summary>
public enum CallerKind
{
    /// <summary>The admin bearer token: everything.</summary>
    Admin,

    /// <summary>An account key (bearer, or the password of a key session): its own account's XRPC and events only.</summary>
    AccountKey,

    /// <summary>The read-only operator credential (HTTP Basic): the status page's GETs only.</summary>
    Operator,
}

/// <summary>
/// The authenticated caller of one request; <see cref="Credential"/> names it in the audit trail ("admin",
/// "key:&lt;id&gt;", "operator"), never with a secret.
/// </summary>
public sealed record Caller(CallerKind Kind, AccountKeyInfo? Key = null)
{
    /// <summary>The admin.</summary>
    public static readonly Caller Admin = new(CallerKind.Admin);

    /// <summary>The operator.</summary>
    public static readonly Caller Operator = new(CallerKind.Operator);

    /// <summary>How the audit trail names this caller.</summary>
    public string Credential => Kind switch
    {
        CallerKind.AccountKey => "key:" + Key!.Id,
        CallerKind.Operator => "operator",
        _ => "admin",
    };

    /// <summary>The caller of a request (set by <see cref="ApiAuthentication"/>); null on open routes.</summary>
    public static Caller? Of(HttpContext context) => context.Features.Get<Caller>();
}

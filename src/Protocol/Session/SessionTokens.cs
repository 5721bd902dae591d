using System.Text;

namespace Supervisor.Actors.Session;

/// <summary>
/// One account's token pair with what the account uses of its claims: the two expiry and issue times, and the access
/// token's scope. Its <see cref="ToString"/> never shows a token. The tokens are held as UTF-8 (a JWT is ASCII): half the
/// bytes of a .NET string, for the one pair every running account keeps; each read of <see cref="AccessJwt"/> or
/// <see cref="RefreshJwt"/> makes the string for one use, and each read of <see cref="Access"/> or <see cref="Refresh"/>
/// reads the claims again (a running account kept two claims objects and the refresh token's id, about 0.3 KB).
/// </summary>
public sealed record SessionTokens
{
    private readonly byte[] _accessJwt;
    private readonly byte[] _refreshJwt;

    // Unix seconds, as the claims give them (an issue time of 0: none).
    private readonly long _accessIssued;
    private readonly long _accessExpires;
    private readonly long _refreshIssued;
    private readonly long _refreshExpires;

    /// <summary>The access token (at+jwt), sent as Bearer on every authenticated call.</summary>
    public string AccessJwt => Encoding.UTF8.GetString(_accessJwt);

    /// <summary>The refresh token (refresh+jwt), sent only to refreshSession and deleteSession.</summary>
    public string RefreshJwt => Encoding.UTF8.GetString(_refreshJwt);

    /// <summary>Claims of the access token, read again from it.</summary>
    public JwtClaims Access => Problem is null ? JwtClaims.TryRead(AccessJwt, out _)! : Unread;

    /// <summary>Claims of the refresh token, read again from it.</summary>
    public JwtClaims Refresh => Problem is null ? JwtClaims.TryRead(RefreshJwt, out _)! : Unread;

    /// <summary>
    /// Why a pair read back from a journal no longer validates (e.g. stored by older code with an expiry out
    /// of range); null for every pair built by <see cref="From"/>. Such a pair never serves: its claims are
    /// placeholders, and the account rules end its session as soon as it is read.
    /// </summary>
    public string? Problem { get; }

    /// <summary>The access token's scope, e.g. com.atproto.access or com.atproto.appPass.</summary>
    public string? Scope { get; }

    private SessionTokens(string accessJwt, string refreshJwt, JwtClaims access, JwtClaims refresh, string? problem = null)
    {
        _accessJwt = Encoding.UTF8.GetBytes(accessJwt);
        _refreshJwt = Encoding.UTF8.GetBytes(refreshJwt);
        (_accessIssued, _accessExpires) = (access.IssuedAt?.ToUnixTimeSeconds() ?? 0, access.ExpiresAt.ToUnixTimeSeconds());
        (_refreshIssued, _refreshExpires) = (refresh.IssuedAt?.ToUnixTimeSeconds() ?? 0, refresh.ExpiresAt.ToUnixTimeSeconds());
        Scope = access.Scope;
        Problem = problem;
    }

    /// <summary>Claims standing in for those of a pair that does not validate (expired at the Unix epoch).</summary>
    private static readonly JwtClaims Unread = new(null, null, null, null, null, DateTimeOffset.UnixEpoch, null);

    /// <summary>When the access token expires.</summary>
    public DateTimeOffset AccessExpiresAt => DateTimeOffset.FromUnixTimeSeconds(_accessExpires);

    /// <summary>When the refresh token expires.</summary>
    public DateTimeOffset RefreshExpiresAt => DateTimeOffset.FromUnixTimeSeconds(_refreshExpires);

    /// <summary>The access token's lifetime as issued, when it has an issue time.</summary>
    public TimeSpan? AccessLifetime => Lifetime(_accessIssued, _accessExpires);

    /// <summary>The refresh token's lifetime as issued, when it has an issue time.</summary>
    public TimeSpan? RefreshLifetime => Lifetime(_refreshIssued, _refreshExpires);

    private static TimeSpan? Lifetime(long issued, long expires) => issued == 0 ? null : TimeSpan.FromSeconds(expires - issued);

    /// <summary>
    /// Builds a pair from two JWTs, or throws <see cref="SessionFormatException"/> naming which token is
    /// malformed and why (never quoting it). With <paramref name="did"/>, an access token whose subject is another DID
    /// is refused too, the message naming where that DID came from (<paramref name="didSource"/>).
    /// </summary>
    public static SessionTokens From(string? accessJwt, string? refreshJwt, string? did = null, string didSource = "'did'")
    {
        var access = JwtClaims.TryRead(accessJwt, out var accessProblem)
            ?? throw new SessionFormatException($"the access token {accessProblem}");
        var refresh = JwtClaims.TryRead(refreshJwt, out var refreshProblem)
            ?? throw new SessionFormatException($"the refresh token {refreshProblem}");
        if (refresh.Type is not null && refresh.Type != "refresh+jwt")
            throw new SessionFormatException($"the refresh token has type '{refresh.Type}', expected 'refresh+jwt'");
        if (access.Type is "refresh+jwt")
            throw new SessionFormatException("the access token is a refresh token");
        if (did is not null && access.Subject is { } sub && sub != did)
            throw new SessionFormatException($"the access token belongs to another DID than {didSource}");
        return new SessionTokens(accessJwt!, refreshJwt!, access, refresh);
    }

    /// <summary>
    /// A stored pair that no longer validates, kept so that the journal stays readable; <paramref name="problem"/>
    /// says why (it never quotes a token).
    /// </summary>
    public static SessionTokens Unusable(string accessJwt, string refreshJwt, string problem) =>
        new(accessJwt, refreshJwt, Unread, Unread, problem);

    /// <summary>Equal when both tokens and the problem are (the claims are read from the tokens).</summary>
    public bool Equals(SessionTokens? other) =>
        other is not null && _accessJwt.AsSpan().SequenceEqual(other._accessJwt) && _refreshJwt.AsSpan().SequenceEqual(other._refreshJwt)
        && Problem == other.Problem;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_accessExpires, _refreshExpires, Problem);

    /// <inheritdoc />
    public override string ToString() =>
        $"SessionTokens {{ Scope = {Scope}, AccessExpiresAt = {AccessExpiresAt:O}, RefreshExpiresAt = {RefreshExpiresAt:O} }}";
}

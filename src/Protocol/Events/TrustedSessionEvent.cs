namespace Supervisor.Actors.Events;

/// <summary>
/// A session event as a trusted client outside the cluster receives it when it subscribed with tokens
/// (<see cref="Protocol.AsTrustedClient"/>): the event without its tokens, and the access and refresh tokens of a
/// Create, Refresh or Import (null otherwise), in plain text over the cluster's TLS. ToString never shows them.
/// </summary>
public sealed record TrustedSessionEvent(SessionEvent Event, string? AccessJwt = null, string? RefreshJwt = null) : Serialization.IWireMessage
{
    /// <summary>What a trusted subscriber receives for <paramref name="e"/>.</summary>
    public static TrustedSessionEvent Of(SessionEvent e) =>
        e.Session is { } session ? new(e.WithoutTokens(), session.Tokens.AccessJwt, session.Tokens.RefreshJwt) : new(e);

    /// <inheritdoc />
    public override string ToString() => $"TrustedSessionEvent {{ Event = {Event}, HasTokens = {AccessJwt is not null} }}";
}

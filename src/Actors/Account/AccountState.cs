using System.Text.Json.Serialization;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Account;

/// <summary>How a session ended, kept until the next login.</summary>
public sealed record SessionEnd(SessionEndReason Reason, XrpcError Error, DateTimeOffset At);

/// <summary>
/// One account's journaled state: the current session (if any), the token waiting for deleteSession,
/// how the last session ended, and counters. Immutable; changed only by <see cref="AccountRules.Apply"/>.
/// </summary>
public sealed record AccountState(
    string Did,
    string? Handle = null,
    string? Service = null,
    SessionGrant? Session = null,
    bool RefreshPending = false,
    SecretToken? PendingDeletion = null,
    SessionEnd? Ended = null,
    bool LoggedOut = false,
    int RefreshCount = 0,
    int LoginCount = 0,
    DateTimeOffset? LastRefreshAt = null,
    DateTimeOffset? SessionStartedAt = null,
    string? Owner = null,
    IReadOnlyList<SecretToken>? LaterDeletions = null,
    string? PendingDeletionService = null,
    IReadOnlyList<string?>? LaterDeletionServices = null)
{
    /// <summary>
    /// Where the pending deletion's token goes: the service that issued it (null in states kept before it was: the
    /// account's service, which a session established since may have changed).
    /// </summary>
    [JsonIgnore]
    public string? DeletionService => PendingDeletionService ?? Service;

    /// <summary>Where authenticated calls go: the PDS from the DID document, else the login service.</summary>
    [JsonIgnore]
    public string? Pds => Session?.PdsEndpoint ?? Service;

    /// <summary>The current pair, if the account has a session (not written to a snapshot: it is the session's own pair).</summary>
    [JsonIgnore]
    public SessionTokens? Tokens => Session?.Tokens;

    /// <inheritdoc />
    public override string ToString() =>
        $"AccountState {{ Did = {Did}, Handle = {Handle}, HasSession = {Session is not null}, RefreshPending = {RefreshPending}, PendingDeletion = {PendingDeletion is not null}, Ended = {Ended?.Reason} }}";
}

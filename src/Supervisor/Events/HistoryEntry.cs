using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;

namespace Supervisor.Host.Events;

/// <summary>
/// One session event as an account's history keeps it: when, what, the state it left and, for a failure, its reason
/// (<c>error: message</c>, at most <see cref="AccountHistory.MaxReasonLength"/> characters). Never a token.
/// </summary>
public readonly record struct HistoryEntry(DateTimeOffset At, SessionEventKind Kind, AccountStateName State, string? Reason)
{
    /// <summary>True for the events that mark a failure or the end of a session (UpdateFailure, Deleted, DeleteFailure).</summary>
    public bool IsFailure => Kind is SessionEventKind.UpdateFailure or SessionEventKind.Deleted or SessionEventKind.DeleteFailure;
}

using System.Text;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;

namespace Supervisor.Host.Events;

/// <summary>
/// One session event as an account's history keeps it: when, what, the state it left, for a failure its reason
/// (<c>error: message</c>, at most <see cref="MaxReasonLength"/> characters) and the node the account ran on (host:port,
/// when known). Never a token.
/// </summary>
public readonly record struct HistoryEntry(DateTimeOffset At, SessionEventKind Kind, AccountStateName State, string? Reason, string? Node)
{
    /// <summary>The longest reason kept, in characters (a longer one is cut and ends with an ellipsis).</summary>
    public const int MaxReasonLength = 160;

    /// <summary>True for the events that mark a failure or the end of a session (UpdateFailure, Deleted, DeleteFailure).</summary>
    public bool IsFailure => Kind is SessionEventKind.UpdateFailure or SessionEventKind.Deleted or SessionEventKind.DeleteFailure;

    /// <summary>
    /// The entry of <paramref name="e"/> on <paramref name="node"/> (its tokens, if any, are never looked at): its reason
    /// cut, and made storable text (a server's message may hold a NUL, which PostgreSQL refuses, or a lone surrogate,
    /// which no UTF-8 encoder takes: both become U+FFFD, so that one account's odd error never fails a batch of others).
    /// </summary>
    public static HistoryEntry Of(SessionEvent e, string? node) =>
        new(e.At, e.Kind, e.State, e.Error is { } error ? Cut(Storable($"{error.Error}: {error.Message}")) : null, node);

    private static string Storable(string text)
    {
        var clean = new StringBuilder(Math.Min(text.Length, 2 * MaxReasonLength));
        for (var i = 0; i < text.Length && clean.Length <= MaxReasonLength; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) clean.Append(c).Append(text[++i]);
            else clean.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return clean.ToString();
    }

    private static string Cut(string reason)
    {
        if (reason.Length <= MaxReasonLength) return reason;
        var end = MaxReasonLength - 1;
        if (char.IsHighSurrogate(reason[end - 1])) end--; // never half a pair
        return reason[..end] + "…";
    }
}

namespace Supervisor.Actors.Limits;

/// <summary>Whether a call may go to its server now; if not, until when it is held and why.</summary>
public sealed record RateDecision(DateTimeOffset? HeldUntil, string? Reason)
{
    /// <summary>The call may go.</summary>
    public static readonly RateDecision Allowed = new(null, null);

    /// <summary>True when the call may go now.</summary>
    public bool IsAllowed => HeldUntil is null;
}

using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Audit;

/// <summary>
/// One act that hands out or ends access to an account (a session export, a key issued or revoked, a session of
/// a key opened or closed, a logout): when, what, which account, and by which credential ("admin", "key:&lt;id&gt;",
/// "message"). Never a secret.
/// </summary>
public sealed record AuditEntry(DateTimeOffset At, string Action, string? Account, string Credential, string? Detail = null) : IJournaled;

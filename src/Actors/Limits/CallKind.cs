namespace Supervisor.Actors.Limits;

/// <summary>What a call to a server is for, which decides how it shares the server's budget.</summary>
public enum CallKind
{
    /// <summary>An account's ordinary request: held to its fair share, and never into the session reserve.</summary>
    Request,

    /// <summary>A refresh, login or logout: may use the reserve; held only while the server refuses everyone.</summary>
    Session,
}

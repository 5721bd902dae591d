namespace Supervisor.Actors.Protocol;

/// <summary>What the states say of the account's session.</summary>
public static class AccountStateNames
{
    /// <summary>
    /// Whether an account in <paramref name="state"/> holds a session (it serves, or will once a refresh or its start is
    /// done); the others need a login (or are taken down, or logged out).
    /// </summary>
    public static bool HoldsSession(this AccountStateName state) => state is AccountStateName.Active or AccountStateName.Recovering
        or AccountStateName.Refreshing or AccountStateName.Degraded or AccountStateName.Deactivated;
}

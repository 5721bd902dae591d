namespace Supervisor.Actors.Accounts;

/// <summary>
/// An account's journal holds tokens that the configured keys cannot read (a wrong, lost or missing key).
/// Sent by the account to the supervisor, which stops the whole host with <see cref="TokenKeyShutdownReason"/>:
/// running on with the accounts that happen to read would hide the problem.
/// </summary>
public sealed record TokenKeyRejected(string Did, string Reason);

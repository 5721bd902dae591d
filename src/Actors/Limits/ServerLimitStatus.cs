namespace Supervisor.Actors.Limits;

/// <summary>
/// What the supervisor knows of one server's budget, as the status endpoint shows it: the limit and what is
/// left of it (from the server's RateLimit-* headers, counted down locally between answers), when it resets,
/// until when the server refuses everyone, how many accounts share it (those with requests in the last two
/// windows), and how many account methods are held after a 429 of their own.
/// </summary>
public sealed record ServerLimitStatus(string Server, int Limit, int Remaining, DateTimeOffset? Reset, DateTimeOffset? BlockedUntil, int Accounts, int HeldCalls);

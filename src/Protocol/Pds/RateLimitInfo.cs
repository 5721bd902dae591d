namespace Supervisor.Actors.Pds;

/// <summary>
/// The <c>RateLimit-*</c> headers of one answer (the reference PDS sends them when its limits are on), and its
/// <c>Retry-After</c> (what a service the PDS forwards to sends with a 429), as the supervisor's RateLimitHeaders reads them.
/// </summary>
public sealed record RateLimitInfo(int? Limit, int? Remaining, DateTimeOffset? Reset, string? Policy, DateTimeOffset? RetryAfter = null);

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Supervisor.Actors.Journal;

namespace Supervisor.Host.Health;

/// <summary>
/// The journal database: degraded (never unhealthy) while it does not answer, since the accounts keep serving
/// through an outage with the tokens in memory. Says nothing of the error itself (the probes are open).
/// </summary>
public sealed class JournalCheck(JournalHealth journal) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(journal.IsAvailable
            ? HealthCheckResult.Healthy("the journal answers")
            : HealthCheckResult.Degraded("the journal does not answer; accounts serve from memory and hold their new events"));
}

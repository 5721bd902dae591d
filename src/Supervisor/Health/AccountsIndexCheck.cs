using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Supervisor.Actors.Accounts;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Health;

/// <summary>
/// Readiness: healthy once the node has started its accounts' index, that is once the accounts supervisor has read
/// its registry and answers (it holds every message until then). Once seen started it stays so: a registry does not
/// go back to reading.
/// </summary>
public sealed class AccountsIndexCheck(ActorRegistry registry) : IHealthCheck
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private volatile bool _started;

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_started) return HealthCheckResult.Healthy("the accounts' index is started");
        if (!registry.TryGet<AccountsSupervisor>(out var accounts)) return HealthCheckResult.Unhealthy("the actor system is starting");
        try
        {
            await accounts.Ask<SupervisorCounts>(GetSupervisorCounts.Instance, AskTimeout, cancellationToken);
            _started = true;
            return HealthCheckResult.Healthy("the accounts' index is started");
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("the accounts' index is being read");
        }
    }
}

using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Supervisor.Actors.Accounts;

namespace Supervisor.Host.Health;

/// <summary>
/// Readiness: healthy while this node is <c>Up</c> in its cluster (alone, as soon as it has joined itself). A node that
/// has not joined yet (its seeds not answering), is leaving (a graceful stop hands its accounts over) or was downed is
/// not ready: a load balancer sends its requests elsewhere. Says the node's status, nothing else.
/// </summary>
public sealed class ClusterMemberCheck(ActorRegistry registry, IServiceProvider services) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // The accounts supervisor is registered once the actor system has started; the system is not asked for before.
        if (!registry.TryGet<AccountsSupervisor>(out _)) return Task.FromResult(HealthCheckResult.Unhealthy("the actor system is starting"));
        var status = Cluster.Get(services.GetRequiredService<ActorSystem>()).SelfMember.Status;
        return Task.FromResult(status == MemberStatus.Up
            ? HealthCheckResult.Healthy("this node is Up in its cluster")
            : HealthCheckResult.Unhealthy($"this node is {status} in its cluster, not Up"));
    }
}

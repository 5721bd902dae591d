namespace Supervisor.Bench;

/// <summary>
/// What a proxy's process has done so far, by its runtime's counts: the bytes it allocated, the thread-pool work items it
/// ran, and the time its garbage collections paused it (NaN where a build does not export one).
/// </summary>
public sealed record ProxyRuntime(double Allocated, double WorkItems, double GcPauseSeconds)
{
    /// <summary>The counts from <paramref name="before"/> to this one.</summary>
    public ProxyRuntime Since(ProxyRuntime before) =>
        new(Allocated - before.Allocated, WorkItems - before.WorkItems, GcPauseSeconds - before.GcPauseSeconds);
}

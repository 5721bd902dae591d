using System.Diagnostics;

namespace Supervisor.Actors.Tests.Support;

public sealed class ChildProcessesSpec
{
    [Fact]
    public async Task A_process_started_and_never_disposed_is_killed_at_the_end()
    {
        var children = new ChildProcesses();
        var forgotten = children.Start(new ProcessStartInfo("sleep", "300"));

        children.KillAll();

        using var within = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await forgotten.WaitForExitAsync(within.Token);
        Assert.True(forgotten.HasExited);
    }

    [Fact]
    public void A_process_that_has_exited_is_not_kept()
    {
        var children = new ChildProcesses();
        var done = children.Start(new ProcessStartInfo("true"));
        done.WaitForExit();

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (children.Count > 0 && DateTime.UtcNow < until) Thread.Sleep(20);
        Assert.Equal(0, children.Count);
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Supervisor.Actors.Account;
using Xunit.Abstractions;
using static Supervisor.Actors.Account.AccountSelfMessages;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// The node's one timer for its running accounts' refreshes (<see cref="RefreshClock"/>): each account is woken once, at
/// the last time it set and not before; a cancelled one is not woken, nor held; times set again and again leave no trail.
/// </summary>
public sealed class RefreshClockSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private readonly RefreshClock _clock = new(TimeProvider.System);

    private static DateTimeOffset In(int milliseconds) => DateTimeOffset.UtcNow.AddMilliseconds(milliseconds);

    [Fact]
    public void Each_account_is_woken_once_at_its_own_time_and_not_before()
    {
        var probes = Enumerable.Range(0, 4).Select(_ => CreateTestProbe()).ToArray();
        var clock = Stopwatch.StartNew();
        // Set out of order: the queue orders them.
        foreach (var i in new[] { 2, 0, 3, 1 }) _clock.Set(probes[i].Ref, In(300 + 250 * i));

        for (var i = 0; i < probes.Length; i++)
        {
            probes[i].ExpectMsg<RefreshDue>(TimeSpan.FromSeconds(3));
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290 + 250 * i), $"account {i} woken after {clock.Elapsed.TotalMilliseconds} ms");
        }
        foreach (var probe in probes) probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(0, _clock.Count);
    }

    [Fact]
    public void A_time_set_again_replaces_the_earlier_one_later_or_sooner()
    {
        var later = CreateTestProbe();
        _clock.Set(later.Ref, In(200));
        var laterAt = In(900);
        _clock.Set(later.Ref, laterAt);
        var sooner = CreateTestProbe();
        _clock.Set(sooner.Ref, In(5000));
        var soonerAt = In(300);
        _clock.Set(sooner.Ref, soonerAt);
        var clock = Stopwatch.StartNew();

        Assert.Equal(soonerAt, sooner.ExpectMsg<RefreshDue>(TimeSpan.FromSeconds(2)).At);
        Assert.Equal(laterAt, later.ExpectMsg<RefreshDue>(TimeSpan.FromSeconds(2)).At);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(850), $"woken after {clock.Elapsed.TotalMilliseconds} ms, not at its later time");
        later.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        sooner.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_cancelled_account_is_not_woken_and_one_that_sets_a_time_again_is()
    {
        var cancelled = CreateTestProbe();
        var again = CreateTestProbe();
        _clock.Set(cancelled.Ref, In(200));
        _clock.Set(again.Ref, In(200));
        _clock.Cancel(cancelled.Ref);
        _clock.Cancel(again.Ref);
        _clock.Set(again.Ref, In(200));

        again.ExpectMsg<RefreshDue>(TimeSpan.FromSeconds(2));
        cancelled.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Equal(0, _clock.Count);
    }

    [Fact]
    public void Times_set_over_and_over_stay_bounded_in_the_queue_and_the_last_one_wakes()
    {
        var busy = CreateTestProbe();
        var quiet = CreateTestProbe();
        _clock.Set(quiet.Ref, In(600));
        // An account that becomes active again and again sets a new time each time.
        for (var i = 0; i < 10_000; i++) _clock.Set(busy.Ref, In(3_600_000 + i));
        _clock.Set(busy.Ref, In(400));

        Assert.InRange(_clock.Queued, 1, 2 * 2 + 64 + 1);
        busy.ExpectMsg<RefreshDue>(TimeSpan.FromSeconds(2));
        quiet.ExpectMsg<RefreshDue>(TimeSpan.FromSeconds(2));
        busy.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_stopped_clock_wakes_no_account_and_takes_times_without_failing()
    {
        var account = CreateTestProbe();
        var later = CreateTestProbe();
        _clock.Set(account.Ref, In(200));
        _clock.Dispose();
        _clock.Set(later.Ref, In(100));
        _clock.Cancel(account.Ref);

        later.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        account.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public async Task An_account_that_cancelled_and_stopped_is_not_held_by_its_old_times()
    {
        var others = CreateTestProbe();
        _clock.Set(others.Ref, In(3_600_000)); // the clock still runs for other accounts
        var stopped = SetCancelledAndStopped();

        await AwaitConditionAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return Task.FromResult(!stopped.IsAlive);
        }, TimeSpan.FromSeconds(10));
        Assert.Equal(1, _clock.Count);
    }

    /// <summary>An actor that set two times (the first replaced), cancelled, then stopped; only a weak reference to it is returned.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference SetCancelledAndStopped()
    {
        var account = Sys.ActorOf(Props.Create(() => new StandIn()));
        _clock.Set(account, In(3_600_000));
        _clock.Set(account, In(7_200_000));
        _clock.Cancel(account);
        Assert.True(account.GracefulStop(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult());
        return new WeakReference(account);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _clock.Dispose();
        base.Dispose(disposing);
    }

    private sealed class StandIn : UntypedActor
    {
        protected override void OnReceive(object message) { }
    }
}

using System.Diagnostics;
using Akka.Actor;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Bench;

/// <summary>
/// The session events' hub (<see cref="SessionEventHub"/>) with one subscriber per account, as a system integrating by
/// messages subscribes for each of its accounts, and a few subscribers for all accounts (the /events feed, the history
/// writer): how long N per-account subscriptions take to be acknowledged, then how many events a second reach their
/// subscribers, and the hub's CPU for them.
/// </summary>
public static class EventsBench
{
    public static async Task RunAsync(int accounts, int events)
    {
        using var system = ActorSystem.Create("events-bench", "akka.loglevel = WARNING");
        var hub = system.ActorOf(SessionEventHub.Props(), "events");
        var perAccount = system.ActorOf(Props.Create(() => new Counter()), "per-account");
        var toAll = Enumerable.Range(0, 3).Select(i => system.ActorOf(Props.Create(() => new Counter()), "all-" + i)).ToList();
        foreach (var subscriber in toAll) await hub.Ask<object>(new SubscribeSessionEvents(subscriber), TimeSpan.FromSeconds(30));

        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var acks = new List<Task<object>>(accounts);
        for (var i = 0; i < accounts; i++)
            acks.Add(hub.Ask<object>(new SubscribeSessionEvents(perAccount, Accounts.Did(i)), TimeSpan.FromMinutes(30)));
        await Task.WhenAll(acks);
        process.Refresh();
        Console.WriteLine($"{accounts} per-account subscriptions of one subscriber acknowledged in {clock.Elapsed.TotalMilliseconds:0} ms " +
                          $"(CPU {(process.TotalProcessorTime - cpu).TotalMilliseconds:0} ms), besides {toAll.Count} subscribers for all accounts");

        cpu = process.TotalProcessorTime;
        clock.Restart();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < events; i++)
            hub.Tell(new SessionEvent(SessionEventKind.Refresh, Accounts.Did(i % accounts), null, null, AccountStateName.Active, null, now));
        while (await perAccount.Ask<int>(Counter.Count.Instance, TimeSpan.FromMinutes(30)) < events) await Task.Delay(10);
        foreach (var subscriber in toAll)
            while (await subscriber.Ask<int>(Counter.Count.Instance, TimeSpan.FromMinutes(30)) < events) await Task.Delay(10);
        process.Refresh();
        var took = clock.Elapsed;
        Console.WriteLine($"{events} events to them in {took.TotalMilliseconds:0} ms: {events / took.TotalSeconds:0} events/s, " +
                          $"CPU {(process.TotalProcessorTime - cpu).TotalMilliseconds * 1000 / events:0.0} µs an event");
        await system.Terminate();
    }

    private sealed class Counter : UntypedActor
    {
        public sealed record Count
        {
            public static readonly Count Instance = new();
        }

        private int _events;

        protected override void OnReceive(object message)
        {
            if (message is SessionEvent) _events++;
            else if (message is Count) Sender.Tell(_events);
        }
    }
}

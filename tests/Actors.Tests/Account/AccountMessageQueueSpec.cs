using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// The account mailbox: first in, first out, with the stash's messages put back in front in their order, safe for many
/// senders at once; and every account actor runs on it (Akka accepts it for a persistent actor with a stash).
/// </summary>
public sealed class AccountMessageQueueSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private static Envelope Message(object m) => new(m, ActorRefs.NoSender);

    private static List<object> Drain(AccountMessageQueue queue)
    {
        var seen = new List<object>();
        while (queue.TryDequeue(out var envelope)) seen.Add(envelope.Message);
        return seen;
    }

    [Fact]
    public void Messages_leave_in_the_order_they_came_after_those_put_back_in_front()
    {
        var queue = new AccountMessageQueue();
        Assert.False(queue.HasMessages);
        queue.Enqueue(ActorRefs.Nobody, Message("a"));
        queue.Enqueue(ActorRefs.Nobody, Message("b"));
        // The stash puts its messages back last first, so that they come out in the order they were stashed.
        queue.EnqueueFirst(Message("y"));
        queue.EnqueueFirst(Message("x"));
        Assert.True(queue.HasMessages);
        Assert.Equal(4, queue.Count);
        Assert.Equal(["x", "y", "a", "b"], Drain(queue));
        Assert.False(queue.HasMessages);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void After_a_burst_drains_the_queue_still_serves_in_order()
    {
        var queue = new AccountMessageQueue();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 1000; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));
            Assert.Equal(Enumerable.Range(0, 1000).Cast<object>(), Drain(queue));
        }
    }

    [Fact]
    public async Task Many_senders_at_once_lose_nothing_and_keep_each_senders_order()
    {
        var queue = new AccountMessageQueue();
        const int senders = 4, each = 20_000;
        var received = new List<object>();
        var sending = Enumerable.Range(0, senders)
            .Select(s => Task.Run(() =>
            {
                for (var i = 0; i < each; i++) queue.Enqueue(ActorRefs.Nobody, Message((s, i)));
            }))
            .ToArray();
        var all = Task.WhenAll(sending);
        while (!all.IsCompleted || queue.HasMessages)
        {
            if (queue.TryDequeue(out var envelope)) received.Add(envelope.Message);
        }
        await all;
        Assert.Equal(senders * each, received.Count);
        foreach (var group in received.Cast<(int Sender, int Index)>().GroupBy(m => m.Sender))
            Assert.Equal(Enumerable.Range(0, each), group.Select(m => m.Index));
    }

    [Fact]
    public async Task A_running_account_actor_runs_on_the_account_mailbox()
    {
        var alice = await LoggedInAsync();
        var actor = await Sys.ActorSelection("/system/sharding/account/*/*").ResolveOne(TimeSpan.FromSeconds(5));
        Assert.Contains(Uri.EscapeDataString(alice.Did), actor.Path.Name, StringComparison.Ordinal);
        var cell = Assert.IsType<ActorCell>(((ActorRefWithCell)actor).Underlying, exactMatch: false);
        Assert.IsType<AccountMessageQueue>(cell.Mailbox?.MessageQueue);
    }
}

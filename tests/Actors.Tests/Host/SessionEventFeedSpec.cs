using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Host.Events;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The ring buffer behind GET /events, in process: ids, the buffer's age limit, slow readers and tokens.</summary>
public sealed class SessionEventFeedSpec
{
    private static SessionEvent Event(string did, SessionGrant? session = null) =>
        new(SessionEventKind.Refresh, did, "alice.test", "https://pds.test", AccountStateName.Active, null, DateTimeOffset.UtcNow, session);

    [Fact]
    public void A_Last_Event_ID_older_than_the_buffer_replays_the_whole_buffer_as_possibly_missed()
    {
        var feed = new SessionEventFeed(capacity: 3);
        var first = feed.Publish(Event("did:plc:a"));
        var second = feed.Publish(Event("did:plc:a"));
        for (var i = 0; i < 3; i++) feed.Publish(Event("did:plc:a"));

        using var tooOld = feed.Subscribe(first.Id);
        Assert.True(tooOld.MayHaveMissed);
        Assert.Equal([3L, 4L, 5L], tooOld.Replay.Select(e => e.Seq));
        // The oldest event still buffered is 3: an id of 2 missed nothing.
        using var justInTime = feed.Subscribe(second.Id);
        Assert.False(justInTime.MayHaveMissed);
        Assert.Equal([3L, 4L, 5L], justInTime.Replay.Select(e => e.Seq));
    }

    [Fact]
    public async Task A_reader_too_far_behind_is_dropped_after_what_it_holds_and_the_others_keep_following()
    {
        var feed = new SessionEventFeed(capacity: 100, backlog: 2);
        using var slow = feed.Subscribe(null);
        using var fast = feed.Subscribe(null);
        for (var i = 0; i < 3; i++)
        {
            feed.Publish(Event("did:plc:a"));
            while (fast.Live.TryRead(out _)) { }
        }

        Assert.True(slow.Overflowed);
        // It still reads the events it holds, then its stream ends.
        var held = new List<long>();
        while (slow.Live.TryRead(out var e)) held.Add(e.Seq);
        Assert.Equal([1L, 2L], held);
        Assert.False(await slow.Live.WaitToReadAsync());
        Assert.False(fast.Overflowed);
        Assert.Equal(1, feed.ReaderCount);
    }

    [Fact]
    public void Ids_carry_the_start_of_the_feed_so_an_id_of_another_start_is_not_taken_for_one_of_this_start()
    {
        var before = new SessionEventFeed(boot: DateTimeOffset.UtcNow.AddMinutes(-5));
        var now = new SessionEventFeed();
        var old = before.Publish(Event("did:plc:a"));
        now.Publish(Event("did:plc:a"));
        now.Publish(Event("did:plc:a"));

        using var resumed = now.Subscribe(old.Id);
        Assert.True(resumed.MayHaveMissed);
        Assert.Equal(2, resumed.Replay.Count);
    }

    [Fact]
    public void The_feed_keeps_no_token_even_when_handed_one()
    {
        var feed = new SessionEventFeed();
        var kept = feed.Publish(Event("did:plc:a", new SessionGrant("did:plc:a", "alice.test", Support.TestJwt.Pair("did:plc:a", DateTimeOffset.UtcNow))));
        Assert.Null(kept.Event.Session);
    }
}

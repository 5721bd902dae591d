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

    /// <summary>An admin reader of every account.</summary>
    private static FeedSubscription Follow(SessionEventFeed feed, string? lastEventId) =>
        feed.TrySubscribe(lastEventId, null, null, out var refusal) ?? throw new InvalidOperationException(refusal);

    [Fact]
    public void A_Last_Event_ID_older_than_the_buffer_replays_the_whole_buffer_as_possibly_missed()
    {
        var feed = new SessionEventFeed(capacity: 3);
        var first = feed.Publish(Event("did:plc:a"));
        var second = feed.Publish(Event("did:plc:a"));
        for (var i = 0; i < 3; i++) feed.Publish(Event("did:plc:a"));

        using var tooOld = Follow(feed, first.Id);
        Assert.True(tooOld.MayHaveMissed);
        Assert.Equal([3L, 4L, 5L], tooOld.Replay.Select(e => e.Seq));
        // The oldest event still buffered is 3: an id of 2 missed nothing.
        using var justInTime = Follow(feed, second.Id);
        Assert.False(justInTime.MayHaveMissed);
        Assert.Equal([3L, 4L, 5L], justInTime.Replay.Select(e => e.Seq));
    }

    [Fact]
    public async Task A_reader_too_far_behind_is_dropped_after_what_it_holds_and_the_others_keep_following()
    {
        var feed = new SessionEventFeed(capacity: 100, backlog: 2);
        using var slow = Follow(feed, null);
        using var fast = Follow(feed, null);
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
    public void The_host_keeps_the_newest_10000_events_and_drops_a_reader_more_than_1000_behind()
    {
        // The feed as the host makes it (Program.cs: no capacity or backlog given), with the README's figures.
        var feed = new SessionEventFeed();
        using var slow = Follow(feed, null);
        var first = feed.Publish(Event("did:plc:a"));
        for (var i = 1; i < 1_000; i++) feed.Publish(Event("did:plc:a"));
        Assert.False(slow.Overflowed);
        feed.Publish(Event("did:plc:a"));
        Assert.True(slow.Overflowed);

        for (var i = 1_001; i < 10_001; i++) feed.Publish(Event("did:plc:a"));
        using var resumed = Follow(feed, first.Id);
        Assert.Equal(10_000, resumed.Replay.Count);
        Assert.Equal(2L, resumed.Replay.First().Seq);
        Assert.False(resumed.MayHaveMissed); // 1 is just before the oldest kept: nothing in between was lost
    }

    [Fact]
    public void Ids_carry_the_start_of_the_feed_so_an_id_of_another_start_is_not_taken_for_one_of_this_start()
    {
        var before = new SessionEventFeed(boot: DateTimeOffset.UtcNow.AddMinutes(-5));
        var now = new SessionEventFeed();
        var old = before.Publish(Event("did:plc:a"));
        now.Publish(Event("did:plc:a"));
        now.Publish(Event("did:plc:a"));

        using var resumed = Follow(now, old.Id);
        Assert.True(resumed.MayHaveMissed);
        Assert.Equal(2, resumed.Replay.Count);
    }

    [Fact]
    public void A_key_has_at_most_its_readers_the_keys_at_most_theirs_in_all_the_admin_is_never_refused_and_a_reader_gone_makes_room()
    {
        var feed = new SessionEventFeed(limits: new FeedReaderLimits(KeyReaders: 3, ReadersPerKey: 2));
        using var admin = feed.TrySubscribe(null, null, null, out _);
        using var first = feed.TrySubscribe(null, "did:plc:a", "key-a", out _);
        var second = feed.TrySubscribe(null, "did:plc:a", "key-a", out _);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(feed.TrySubscribe(null, "did:plc:a", "key-a", out var perKey));
        Assert.Contains("supervisor.events.max-readers-per-key", perKey);

        using var other = feed.TrySubscribe(null, "did:plc:b", "key-b", out _);
        Assert.NotNull(other);
        Assert.Null(feed.TrySubscribe(null, "did:plc:c", "key-c", out var full));
        Assert.Contains("supervisor.events.max-key-readers", full);
        using var adminAgain = feed.TrySubscribe(null, null, null, out _);
        Assert.NotNull(adminAgain);
        Assert.Equal(5, feed.ReaderCount);

        second!.Dispose();
        using var again = feed.TrySubscribe(null, "did:plc:a", "key-a", out _);
        Assert.NotNull(again);
    }

    [Fact]
    public void Reader_limits_below_one_are_a_configuration_error()
    {
        Assert.Equal(new FeedReaderLimits(50, 2), FeedReaderLimits.From(Akka.Configuration.ConfigurationFactory.ParseString("max-key-readers = 50\nmax-readers-per-key = 2")));
        Assert.Equal(FeedReaderLimits.Default, FeedReaderLimits.From(null));
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() => FeedReaderLimits.From(Akka.Configuration.ConfigurationFactory.ParseString("max-readers-per-key = 0")));
        Assert.Contains("supervisor.events.max-readers-per-key", error.Message);
    }

    [Fact]
    public void The_feed_keeps_no_token_even_when_handed_one()
    {
        var feed = new SessionEventFeed();
        var kept = feed.Publish(Event("did:plc:a", new SessionGrant("did:plc:a", "alice.test", Support.TestJwt.Pair("did:plc:a", DateTimeOffset.UtcNow))));
        Assert.Null(kept.Event.Session);
    }
}

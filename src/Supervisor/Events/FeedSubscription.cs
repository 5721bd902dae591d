using System.Threading.Channels;

namespace Supervisor.Host.Events;

/// <summary>
/// One reader of the <see cref="SessionEventFeed"/>: what it missed (<see cref="Replay"/>, and whether older events
/// may have been lost on the way), then the live events. Dispose to stop following.
/// </summary>
public sealed class FeedSubscription : IDisposable
{
    private readonly SessionEventFeed _feed;
    private readonly Channel<FeedEvent> _channel;
    private volatile bool _overflowed;

    internal FeedSubscription(SessionEventFeed feed, string? did, string? keyId, int backlog)
    {
        _feed = feed;
        Did = did;
        KeyId = keyId;
        _channel = Channel.CreateBounded<FeedEvent>(new BoundedChannelOptions(backlog)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The one account this reader follows, or null for all.</summary>
    public string? Did { get; }

    /// <summary>The account key reading, or null for the admin.</summary>
    public string? KeyId { get; }

    /// <summary>True when events between the reader's Last-Event-ID and <see cref="Replay"/> may be lost (another boot, or older than the buffer).</summary>
    public bool MayHaveMissed { get; internal set; }

    /// <summary>The buffered events after the reader's Last-Event-ID, oldest first.</summary>
    public IReadOnlyList<FeedEvent> Replay { get; internal set; } = [];

    /// <summary>The events published after the subscription; completed when the reader fell too far behind.</summary>
    public ChannelReader<FeedEvent> Live => _channel.Reader;

    /// <summary>True when the reader was dropped because its backlog was full.</summary>
    public bool Overflowed => _overflowed;

    /// <summary>Hands a live event on; false (and the channel completed) when the reader is too far behind.</summary>
    internal bool Offer(FeedEvent e)
    {
        if (Did is not null && Did != e.Event.Did) return true;
        if (_channel.Writer.TryWrite(e)) return true;
        _overflowed = true;
        _channel.Writer.TryComplete();
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _feed.Unsubscribe(this);
        _channel.Writer.TryComplete();
    }
}

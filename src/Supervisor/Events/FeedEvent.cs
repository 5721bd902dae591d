using Supervisor.Actors.Events;

namespace Supervisor.Host.Events;

/// <summary>A session event as the feed numbered it: <see cref="Id"/> is <c>&lt;boot epoch ms&gt;-&lt;Seq&gt;</c>.</summary>
public sealed record FeedEvent(string Id, long Seq, SessionEvent Event);

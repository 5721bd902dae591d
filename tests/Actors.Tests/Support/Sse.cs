using System.Text.Json;

namespace Supervisor.Actors.Tests.Support;

/// <summary>One server-sent event as read.</summary>
public sealed record Sse(string Id, string Event, JsonElement Data)
{
    public long Seq => long.Parse(Id[(Id.IndexOf('-') + 1)..]);

    public string Boot => Id[..Id.IndexOf('-')];
}

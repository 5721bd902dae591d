using Akka.Configuration;

namespace Supervisor.Host.Events;

/// <summary>
/// How many readers follow the <see cref="SessionEventFeed"/> at once: every event is offered to each reader under the
/// feed's lock, so an account key holder opening streams without end would slow every event for everyone (and hold a
/// connection each). The admin's readers are not counted: keys cannot shut the operator out. Read from the HOCON section <c>supervisor.events</c>.
/// </summary>
/// <param name="KeyReaders">The most readers with account keys in all (<c>max-key-readers</c>); the admin's are not counted.</param>
/// <param name="ReadersPerKey">The most readers one account key has open (<c>max-readers-per-key</c>).</param>
public sealed record FeedReaderLimits(int KeyReaders, int ReadersPerKey)
{
    /// <summary>1,000 readers with keys, 8 of them per key.</summary>
    public static readonly FeedReaderLimits Default = new(1_000, 8);

    /// <summary>Reads a <c>supervisor.events</c> section; what it leaves out is <see cref="Default"/>'s. A number below 1 is a <see cref="ConfigurationException"/>.</summary>
    public static FeedReaderLimits From(Config? section)
    {
        if (section is null || section.IsEmpty) return Default;
        return new FeedReaderLimits(AtLeastOne(section, "max-key-readers", Default.KeyReaders), AtLeastOne(section, "max-readers-per-key", Default.ReadersPerKey));
    }

    private static int AtLeastOne(Config section, string key, int fallback)
    {
        var value = section.GetInt(key, fallback);
        return value >= 1 ? value : throw new ConfigurationException($"supervisor.events.{key} must be at least 1 (is {value})");
    }
}

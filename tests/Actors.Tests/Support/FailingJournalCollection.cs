namespace Supervisor.Actors.Tests.Support;

/// <summary>The specs that switch <see cref="FailingJournal"/>'s process-wide flags: they run one after another, never in parallel.</summary>
[CollectionDefinition(Name)]
public sealed class FailingJournalCollection
{
    public const string Name = "failing journal";
}

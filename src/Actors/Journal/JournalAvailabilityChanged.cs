namespace Supervisor.Actors.Journal;

/// <summary>The journal became available (or unavailable); sent by <see cref="JournalProbe"/> to its parent, which tells every account.</summary>
public sealed record JournalAvailabilityChanged(bool Available);

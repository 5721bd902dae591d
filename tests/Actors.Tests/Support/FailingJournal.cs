using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Akka's in-memory journal that refuses every write while <see cref="FailWrites"/> is set (reads go on), as
/// a database does that accepts no more transactions, and every read too while <see cref="FailReads"/> is
/// set (a database that is gone); reads answer late while <see cref="SlowReadsMs"/> is set. For specs of journal failures in one process.
/// </summary>
public sealed class FailingJournal : MemoryJournal
{
    /// <summary>The HOCON that makes it the journal of an ActorSystem (snapshots in memory).</summary>
    public const string Config = """
        akka.persistence.journal.plugin = "akka.persistence.journal.failing"
        akka.persistence.journal.failing.class = "Supervisor.Actors.Tests.Support.FailingJournal, Supervisor.Actors.Tests"
        akka.persistence.journal.failing.plugin-dispatcher = "akka.actor.default-dispatcher"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    /// <summary>While true, every write fails.</summary>
    public static volatile bool FailWrites;

    /// <summary>While set, every write of an event of this type (its name) fails; the others go on.</summary>
    public static volatile string? FailWritesOf;

    /// <summary>While true, every read fails.</summary>
    public static volatile bool FailReads;

    /// <summary>Milliseconds every read waits before it answers (a busy database); 0 by default.</summary>
    public static volatile int SlowReadsMs;

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (SlowReadsMs > 0) await Task.Delay(SlowReadsMs, cancellationToken);
        return FailReads
            ? throw new IOException("the test journal refuses reads")
            : await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }

    /// <inheritdoc />
    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken) =>
        FailWrites || FailWritesOf is { } type && messages.Any(w => ((IEnumerable<IPersistentRepresentation>)w.Payload).Any(p => p.Payload.GetType().Name == type))
            ? Task.FromException<IImmutableList<Exception>>(new IOException("the test journal refuses writes"))
            : base.WriteMessagesAsync(messages, cancellationToken);
}

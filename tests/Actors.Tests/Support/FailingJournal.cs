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

    /// <summary>The message of a refused write (a unique-key violation's, to stand for another owner's write).</summary>
    public static volatile string FailureMessage = DefaultFailureMessage;

    /// <summary>The message of a refused write unless one is set.</summary>
    public const string DefaultFailureMessage = "the test journal refuses writes";

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

    /// <summary>
    /// While set, a write of an event of this type (its name) waits until <see cref="ReleaseHeldWrites"/>; <see cref="WriteHeld"/>
    /// completes when one has started waiting.
    /// </summary>
    public static volatile string? HoldWritesOf;

    private static TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a write of <see cref="HoldWritesOf"/>'s type has started waiting.</summary>
    public static TaskCompletionSource WriteHeld { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Holds the writes of events of <paramref name="type"/> (its name) from now on, until <see cref="ReleaseHeldWrites"/>.</summary>
    public static void HoldWrites(string type)
    {
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WriteHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HoldWritesOf = type;
    }

    /// <summary>Lets the held writes go on, and holds no more.</summary>
    public static void ReleaseHeldWrites()
    {
        HoldWritesOf = null;
        _release.TrySetResult();
    }

    /// <inheritdoc />
    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        if (Writes(writes, HoldWritesOf))
        {
            var release = _release.Task;
            WriteHeld.TrySetResult();
            await release;
        }
        if (FailWrites || Writes(writes, FailWritesOf)) throw new IOException(FailureMessage);
        return await base.WriteMessagesAsync(writes, cancellationToken);
    }

    private static bool Writes(List<AtomicWrite> writes, string? type) =>
        type is not null && writes.Any(w => ((IEnumerable<IPersistentRepresentation>)w.Payload).Any(p => p.Payload.GetType().Name == type));
}

using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// Writes the account registry's events for <see cref="AccountsSupervisor"/>, its parent, and reads them
/// back at start. A journal write that fails stops this actor (as Akka stops any persistent actor whose write
/// fails), not the supervisor: the parent answers the callers that waited, keeps every account running, and
/// starts a new journal writer once the journal answers again.
/// </summary>
public sealed class RegistryJournal : ReceivePersistentActor
{
    /// <summary>Write one event; answered with <see cref="RegistryEventRecorded"/> once it is journaled.</summary>
    public sealed record RecordRegistryEvent(long Id, IJournaled Event);

    /// <summary>The event with this id is journaled, at this sequence number.</summary>
    public sealed record RegistryEventRecorded(long Id, long SequenceNr);

    /// <summary>Save a snapshot of the registry (and delete the events before it).</summary>
    public sealed record SaveRegistrySnapshot(RegistrySnapshot Snapshot);

    /// <summary>Recovery is over: every recovered snapshot and event was sent before this.</summary>
    public sealed record RegistryRecovered
    {
        /// <summary>The one instance.</summary>
        public static readonly RegistryRecovered Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Props for the writer of <paramref name="persistenceId"/>.</summary>
    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new RegistryJournal(persistenceId));

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Creates the writer; recovery sends the parent what the journal holds.</summary>
    public RegistryJournal(string persistenceId)
    {
        PersistenceId = persistenceId;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RegistrySnapshot snapshot) Context.Parent.Tell(snapshot);
        });
        Recover<IJournaled>(e => Context.Parent.Tell(e));
        Recover<RecoveryCompleted>(_ => Context.Parent.Tell(RegistryRecovered.Instance));

        Command<RecordRegistryEvent>(record =>
        {
            var replyTo = Sender;
            // PersistAsync: many registrations (an import of thousands) are written in batches, in order.
            PersistAsync(record.Event, _ => replyTo.Tell(new RegistryEventRecorded(record.Id, LastSequenceNr)));
        });
        Command<SaveRegistrySnapshot>(save => SaveSnapshot(save.Snapshot));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Account registry: snapshot failed"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "Account registry: deleting old journal entries failed"));
    }
}

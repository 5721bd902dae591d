using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Audit;

/// <summary>
/// The journaled audit trail (persistence id <c>audit-trail</c>), one in the cluster (a singleton on the supervisor
/// nodes, reached through its proxy from every node). Entries are told to it
/// (<see cref="AuditEntry"/>) and journaled in order; the newest <see cref="Kept"/> are kept in memory and
/// answered to <see cref="GetAuditEntries"/>, newest first. A snapshot every 500 entries keeps the same newest
/// <see cref="Kept"/> (a restart answers what the trail answered before it) and lets the journal before it go. A journal
/// failure stops it; its parent starts it again.
/// </summary>
public sealed class AuditTrail : ReceivePersistentActor
{
    /// <summary>The journal id.</summary>
    public const string Id = "audit-trail";

    /// <summary>How many entries are kept in memory for <see cref="GetAuditEntries"/>.</summary>
    public const int Kept = 10_000;

    /// <summary>The most entries one <see cref="GetAuditEntries"/> is answered.</summary>
    public const int MaxPage = 1000;

    /// <summary>Asks for up to <paramref name="Limit"/> entries older than <paramref name="Before"/> (all when null), newest first.</summary>
    public sealed record GetAuditEntries(int Limit, DateTimeOffset? Before = null) : IWireMessage;

    /// <summary>The entries asked for, newest first.</summary>
    public sealed record AuditEntries(IReadOnlyList<AuditEntry> Entries) : IWireMessage;

    /// <summary>A snapshot: the newest entries.</summary>
    public sealed record AuditSnapshot(IReadOnlyList<AuditEntry> Entries) : IJournaled;

    private readonly LinkedList<AuditEntry> _entries = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Only this node and the cluster's members are served: a system outside it that holds the certificate gets nothing.</summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is not (AuditEntry or GetAuditEntries) || !Cluster.ClusterOutsiders.IsOutside(Sender, Context.System)) return base.AroundReceive(receive, message);
        _log.Warning("Refused {MessageType} from {Sender}, outside the cluster", message.GetType().Name, Sender.Path.Address);
        return true;
    }

    /// <inheritdoc />
    public override string PersistenceId => Id;

    /// <summary>Props for the trail.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new AuditTrail());

    /// <summary>Creates the trail; recovery reads the snapshot and the entries after it.</summary>
    public AuditTrail()
    {
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is AuditSnapshot snapshot) foreach (var e in snapshot.Entries) Keep(e);
        });
        Recover<AuditEntry>(Keep);
        Command<AuditEntry>(entry => Persist(entry, e =>
        {
            Keep(e);
            _log.Info("Audit: {Action} of {Account} by {Credential}", e.Action, e.Account, e.Credential);
            if (LastSequenceNr % 500 == 0) SaveSnapshot(new AuditSnapshot(_entries.Reverse().ToList()));
        }));
        Command<GetAuditEntries>(get => Sender.Tell(new AuditEntries(
            _entries.Where(e => get.Before is not { } before || e.At < before).Take(Math.Clamp(get.Limit, 1, MaxPage)).ToList())));
        // Each snapshot holds every kept entry: the ones before it go with the events it replaces.
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    /// <summary>
    /// Adds an entry at the front (newest first), keeping at most <see cref="Kept"/>. Its time is at least a tick (100 ns)
    /// after the newest kept: entries told at the same instant, or from a node whose clock is behind, would otherwise
    /// share a time or go back in time, and a page asked <see cref="GetAuditEntries.Before"/> the last time of the page
    /// before would skip the rest of them. The trail's times are its order; the same on recovery, as the order is. (An
    /// entry from a node whose clock is ahead moves the entries told after it on to its time, until the others' clocks
    /// pass it: the order told is kept over the clocks' word.)
    /// </summary>
    private void Keep(AuditEntry entry)
    {
        if (_entries.First?.Value.At is { } newest && entry.At <= newest) entry = entry with { At = newest.AddTicks(1) };
        _entries.AddFirst(entry);
        if (_entries.Count > Kept) _entries.RemoveLast();
    }
}

using System.Collections.Concurrent;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Holds the recovery of chosen persistence ids until a spec releases them, through <see cref="GatedJournal"/>:
/// which recoveries have started, how many were under way at once, and the order they are let through are
/// then the spec's to observe and decide.
/// </summary>
public sealed class RecoveryGate
{
    private static readonly ConcurrentDictionary<string, RecoveryGate> Gates = new();

    private readonly object _lock = new();
    private readonly HashSet<string> _gated;
    private readonly HashSet<string> _released = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _held = new(StringComparer.Ordinal);
    private int _maxHeld;

    /// <summary>A gate for the recoveries of <paramref name="persistenceIds"/>; every other id passes.</summary>
    public RecoveryGate(IEnumerable<string> persistenceIds)
    {
        _gated = new HashSet<string>(persistenceIds, StringComparer.Ordinal);
        Gates[Id] = this;
    }

    /// <summary>The gate's name in the configuration of the journal.</summary>
    public string Id { get; } = Guid.NewGuid().ToString("N");

    /// <summary>HOCON that puts this gate in front of the journal of an ActorSystem (either database).</summary>
    public string Config => $"""
        akka.persistence.journal.sql.class = "{typeof(GatedJournal).AssemblyQualifiedName}"
        akka.persistence.journal.sql.recovery-gate = "{Id}"
        """;

    /// <summary>The ids whose recovery has started and is held now.</summary>
    public IReadOnlyList<string> Held
    {
        get
        {
            lock (_lock) return _held.Keys.ToList();
        }
    }

    /// <summary>The most recoveries held at the same time so far.</summary>
    public int MaxHeldAtOnce
    {
        get
        {
            lock (_lock) return _maxHeld;
        }
    }

    /// <summary>Lets the recovery of <paramref name="persistenceId"/> go on (now, or when it starts).</summary>
    public void Release(string persistenceId)
    {
        TaskCompletionSource? held;
        lock (_lock)
        {
            _released.Add(persistenceId);
            _held.Remove(persistenceId, out held);
        }
        held?.TrySetResult();
    }

    /// <summary>Holds <paramref name="persistenceId"/> again, from its next read of the journal's highest sequence number.</summary>
    public void Close(string persistenceId)
    {
        lock (_lock) _released.Remove(persistenceId);
    }

    /// <summary>The gate named <paramref name="id"/>.</summary>
    public static RecoveryGate Named(string id) => Gates[id];

    /// <summary>Waits until <paramref name="persistenceId"/> may recover.</summary>
    public Task PassAsync(string persistenceId)
    {
        lock (_lock)
        {
            if (!_gated.Contains(persistenceId) || _released.Contains(persistenceId)) return Task.CompletedTask;
            if (!_held.TryGetValue(persistenceId, out var held))
            {
                held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _held[persistenceId] = held;
                _maxHeld = Math.Max(_maxHeld, _held.Count);
            }
            return held.Task;
        }
    }
}

using Supervisor.Actors.Events;

namespace Supervisor.Host.Events;

/// <summary>
/// The recent session events of each account, for the status page's account pages: at most <see cref="PerAccount"/>
/// (50) an account, newest last, as compact <see cref="HistoryEntry"/> values (no token, no handle, no service; a reason
/// only for failures, cut to <see cref="MaxReasonLength"/> characters). Kept here because the journal is compacted at
/// each snapshot and transient failures are not journaled at all; lost at a restart.
/// <para>
/// Bounded in total memory: every entry is charged <see cref="EntryCost"/> bytes (its slot in the account's array and
/// its place in the age queue) plus 2 bytes a character of its reason, every account with a history 256 bytes plus its
/// DID (its ring, first arrays and dictionary entry), and once the charges pass
/// <see cref="BudgetBytes"/> (64 MiB by default) the oldest entries of all accounts go first. Why 64 MiB: 100,000
/// passivated accounts cost about 150 MB (bench/README.md), and the history should not cost more than about half of
/// that. A full history (50 events) is charged about 3.5 KB, so 64 MiB keep the last 50 events of about 19,000 accounts;
/// at 100,000 accounts, the newest 500,000 or so events of all of them (5 an account on average, more for the busy
/// ones; whatever is oldest goes first). Thread-safe: the feed actor writes, HTTP requests read.
/// </para>
/// </summary>
public sealed class AccountHistory
{
    /// <summary>How many events an account keeps.</summary>
    public const int PerAccount = 50;

    /// <summary>The longest reason kept, in characters (a longer one is cut and ends with an ellipsis).</summary>
    public const int MaxReasonLength = 160;

    /// <summary>What an entry is charged besides its reason: its 32-byte slot, its 16-byte place in the age queue, and room for the ring it sits in.</summary>
    public const int EntryCost = 64;

    private readonly object _gate = new();
    private readonly Dictionary<string, Ring> _accounts = new(StringComparer.Ordinal);
    private readonly Queue<(Ring Ring, long Seq)> _ages = new();
    private long _seq;
    private long _charged;

    /// <summary>A history charged at most <paramref name="budgetBytes"/> in total.</summary>
    public AccountHistory(long budgetBytes = 64L * 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, EntryCost + 2L * MaxReasonLength);
        BudgetBytes = budgetBytes;
    }

    /// <summary>The most the entries are charged in total (see the class comment).</summary>
    public long BudgetBytes { get; }

    /// <summary>What the kept entries are charged now, in bytes.</summary>
    public long ChargedBytes
    {
        get
        {
            lock (_gate) return _charged;
        }
    }

    /// <summary>Keeps <paramref name="e"/> in its account's history (its tokens, if any, are never looked at).</summary>
    public void Record(SessionEvent e)
    {
        var reason = e.Error is { } error ? Cut($"{error.Error}: {error.Message}") : null;
        var entry = new HistoryEntry(e.At, e.Kind, e.State, reason);
        lock (_gate)
        {
            if (!_accounts.TryGetValue(e.Did, out var ring))
            {
                _accounts[e.Did] = ring = new Ring(e.Did);
                _charged += AccountCost(e.Did);
            }
            var seq = ++_seq;
            if (ring.Count == PerAccount) _charged -= Cost(ring.DropOldest()) - 16; // its place in the age queue stays charged until it leaves the queue
            ring.Add(entry, seq);
            _ages.Enqueue((ring, seq));
            _charged += Cost(entry);
            while (_charged > BudgetBytes && _ages.TryDequeue(out var oldest))
            {
                _charged -= 16;
                if (oldest.Ring.Count > 0 && oldest.Ring.OldestSeq == oldest.Seq)
                {
                    _charged -= Cost(oldest.Ring.DropOldest()) - 16;
                    if (oldest.Ring.Count == 0 && _accounts.GetValueOrDefault(oldest.Ring.Did) == oldest.Ring)
                    {
                        _accounts.Remove(oldest.Ring.Did);
                        _charged -= AccountCost(oldest.Ring.Did);
                    }
                }
            }
        }
    }

    /// <summary>The kept events of one account, oldest first (empty when none is kept).</summary>
    public IReadOnlyList<HistoryEntry> Of(string did)
    {
        lock (_gate) return _accounts.TryGetValue(did, out var ring) ? ring.ToList() : [];
    }

    /// <summary>What an account with a history is charged besides its entries: its ring and first arrays, its DID and its dictionary entry.</summary>
    private static long AccountCost(string did) => 256 + 2L * did.Length;

    private static long Cost(HistoryEntry entry) => EntryCost + 2L * (entry.Reason?.Length ?? 0);

    private static string Cut(string reason) => reason.Length <= MaxReasonLength ? reason : reason[..(MaxReasonLength - 1)] + "…";

    /// <summary>One account's entries in a ring that grows up to <see cref="PerAccount"/>, with the age sequence of each.</summary>
    private sealed class Ring(string did)
    {
        private HistoryEntry[] _entries = new HistoryEntry[4];
        private long[] _seqs = new long[4];
        private int _start;

        public string Did { get; } = did;

        public int Count { get; private set; }

        public long OldestSeq => _seqs[_start];

        public void Add(HistoryEntry entry, long seq)
        {
            if (Count == _entries.Length) Grow();
            var at = (_start + Count) % _entries.Length;
            _entries[at] = entry;
            _seqs[at] = seq;
            Count++;
        }

        public HistoryEntry DropOldest()
        {
            var oldest = _entries[_start];
            _entries[_start] = default;
            _start = (_start + 1) % _entries.Length;
            Count--;
            return oldest;
        }

        public List<HistoryEntry> ToList()
        {
            var list = new List<HistoryEntry>(Count);
            for (var i = 0; i < Count; i++) list.Add(_entries[(_start + i) % _entries.Length]);
            return list;
        }

        private void Grow()
        {
            var size = Math.Min(_entries.Length * 2, PerAccount);
            var entries = new HistoryEntry[size];
            var seqs = new long[size];
            for (var i = 0; i < Count; i++)
            {
                entries[i] = _entries[(_start + i) % _entries.Length];
                seqs[i] = _seqs[(_start + i) % _entries.Length];
            }
            (_entries, _seqs, _start) = (entries, seqs, 0);
        }
    }
}

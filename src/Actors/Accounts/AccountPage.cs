using System.Buffers.Text;
using System.Text;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// The rules of paged account listings, as pure functions over statuses ordered by DID (ordinal), so that they compose:
/// whoever holds statuses (the registry today, each registry bucket in a cluster) answers a <see cref="ListAccounts"/>
/// with <see cref="Page"/> over its own accounts, and whoever asked several holders merges their pages for the same
/// query with <see cref="Merge"/>, which is again a page of that query. A cursor is the base64url of the last DID of
/// the page before, so it stays valid whichever holder answers, and whatever was added or removed in between: every
/// account that exists and matches throughout the listing is listed exactly once.
/// </summary>
public static class AccountPage
{
    /// <summary>The page size when none is asked for (the protocol's).</summary>
    public const int DefaultLimit = ListAccounts.DefaultLimit;

    /// <summary>The largest page (the protocol's).</summary>
    public const int MaxLimit = ListAccounts.MaxLimit;

    /// <summary>The longest query text accepted (a handle is at most 253 characters, a DID at most 2 KB).</summary>
    public const int MaxQueryLength = 2_048;

    /// <summary>Why <paramref name="query"/> cannot be answered (an InvalidRequest error), or null when it can.</summary>
    public static XrpcError? Validate(ListAccounts query)
    {
        if (query.Limit is < 1 or > MaxLimit)
            return new XrpcError("InvalidRequest", $"limit must be between 1 and {MaxLimit}");
        if (query.Query is { Length: > MaxQueryLength })
            return new XrpcError("InvalidRequest", $"the query is longer than {MaxQueryLength} characters");
        if (query.State is { } state && !Enum.IsDefined(state))
            return new XrpcError("InvalidRequest", "unknown state");
        if (query.Cursor is not null && !TryDecodeCursor(query.Cursor, out _))
            return new XrpcError("InvalidRequest", "the cursor is not one this supervisor made");
        return null;
    }

    /// <summary>True when <paramref name="status"/> is in the query's state (if any) and its handle or DID contains its text (if any), ignoring case.</summary>
    public static bool Matches(AccountStatus status, ListAccounts query) => Matches(status.Did, status.Handle, status.State, query);

    /// <summary>
    /// <see cref="Matches(AccountStatus, ListAccounts)"/> for an account of <paramref name="did"/>, <paramref name="handle"/>
    /// and <paramref name="state"/>, before its status is made (a holder makes only those of its page).
    /// </summary>
    public static bool Matches(string did, string? handle, AccountStateName state, ListAccounts query) =>
        (query.State is not { } wanted || state == wanted)
        && (string.IsNullOrEmpty(query.Query)
            || did.Contains(query.Query, StringComparison.OrdinalIgnoreCase)
            || handle is not null && handle.Contains(query.Query, StringComparison.OrdinalIgnoreCase));

    /// <summary>The DID after which <paramref name="query"/>'s page starts: its cursor's, or null (from the first; also for a cursor that is not one).</summary>
    public static string? After(ListAccounts query) => query.Cursor is { } cursor && TryDecodeCursor(cursor, out var did) ? did : null;

    /// <summary>
    /// The page <paramref name="query"/> asks for, out of <paramref name="orderedByDid"/> (ordinal order of DIDs, each DID
    /// once): the first <see cref="ListAccounts.Limit"/> matching statuses after the cursor's DID, with a next cursor when a
    /// matching status follows them. Reads only as far as that status. The query must be valid (<see cref="Validate"/>):
    /// an invalid one is the caller's mistake and throws <see cref="ArgumentException"/>.
    /// </summary>
    public static AccountList Page(IEnumerable<AccountStatus> orderedByDid, ListAccounts query)
    {
        if (Validate(query) is { } invalid) throw new ArgumentException(invalid.Message, nameof(query));
        var after = After(query);
        var page = new List<AccountStatus>(Math.Min(query.Limit, 128));
        foreach (var status in orderedByDid)
        {
            if (after is not null && string.CompareOrdinal(status.Did, after) <= 0) continue;
            if (!Matches(status, query)) continue;
            if (page.Count == query.Limit) return new AccountList(page, EncodeCursor(page[^1].Did));
            page.Add(status);
        }
        return new AccountList(page);
    }

    /// <summary>
    /// One page out of pages that several holders of disjoint sets of accounts answered for the same
    /// <paramref name="query"/>: the first <see cref="ListAccounts.Limit"/> of their statuses by DID, with a next cursor
    /// when any holder has more (a page with a cursor, or more statuses than fit). Statuses of one DID in two pages (an
    /// account moving between holders) are listed once.
    /// </summary>
    public static AccountList Merge(IEnumerable<AccountList> pages, ListAccounts query)
    {
        if (Validate(query) is { } invalid) throw new ArgumentException(invalid.Message, nameof(query));
        var more = false;
        var all = new List<AccountStatus>();
        foreach (var page in pages)
        {
            all.AddRange(page.Accounts);
            more |= page.NextCursor is not null;
        }
        var merged = all
            .DistinctBy(s => s.Did, StringComparer.Ordinal)
            .OrderBy(s => s.Did, StringComparer.Ordinal)
            .ToList();
        if (merged.Count > query.Limit)
        {
            merged.RemoveRange(query.Limit, merged.Count - query.Limit);
            more = true;
        }
        // A holder's next cursor means it had a full page: then the merged page is full as well, and ends at or before
        // that holder's last DID, so nothing of any holder at or before the merged page's last DID is left out.
        return new AccountList(merged, more && merged.Count > 0 ? EncodeCursor(merged[^1].Did) : null);
    }

    /// <summary>
    /// The counts of <paramref name="statuses"/> by state (every state listed, zeros included), with how many run as
    /// actors and how many are passivated.
    /// </summary>
    public static AccountCounts Count(IEnumerable<AccountStatus> statuses, int running, int passivated) =>
        Count(statuses.Select(s => (s.State, s.UnjournaledEvents)), running, passivated);

    /// <summary>The counts of accounts given by their state and events not yet journaled (no status made for each).</summary>
    public static AccountCounts Count(IEnumerable<(AccountStateName State, int UnjournaledEvents)> accounts, int running, int passivated)
    {
        var byState = Enum.GetValues<AccountStateName>().ToDictionary(s => s, _ => 0);
        var (total, unjournaled) = (0, 0);
        foreach (var (state, events) in accounts)
        {
            total++;
            byState[state]++;
            unjournaled += events;
        }
        return new AccountCounts(total, byState, running, passivated, unjournaled);
    }

    /// <summary>The sum of the counts of several holders of disjoint sets of accounts.</summary>
    public static AccountCounts MergeCounts(IEnumerable<AccountCounts> counts)
    {
        var byState = Enum.GetValues<AccountStateName>().ToDictionary(s => s, _ => 0);
        var (total, running, passivated, unjournaled) = (0, 0, 0, 0);
        foreach (var c in counts)
        {
            total += c.Total;
            running += c.Running;
            passivated += c.Passivated;
            unjournaled += c.UnjournaledEvents;
            foreach (var (state, n) in c.ByState) byState[state] = byState.GetValueOrDefault(state) + n;
        }
        return new AccountCounts(total, byState, running, passivated, unjournaled);
    }

    /// <summary>The cursor that asks for the accounts after <paramref name="lastDid"/>: its UTF-8 bytes in base64url, without padding.</summary>
    public static string EncodeCursor(string lastDid) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lastDid));

    /// <summary>The DID a cursor names, when it is one <see cref="EncodeCursor"/> made (base64url of a DID); false otherwise.</summary>
    public static bool TryDecodeCursor(string cursor, out string lastDid)
    {
        lastDid = "";
        if (cursor.Length is 0 or > 4 * MaxQueryLength) return false;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(cursor);
        }
        catch (FormatException)
        {
            return false;
        }
        string did;
        try
        {
            did = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        if (!did.StartsWith("did:", StringComparison.Ordinal) || did.Any(char.IsControl) || EncodeCursor(did) != cursor) return false;
        lastDid = did;
        return true;
    }
}

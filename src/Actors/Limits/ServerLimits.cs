using System.Collections.Concurrent;
using System.Globalization;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Limits;

/// <summary>
/// The rate limits of every server, shared by all accounts (thread-safe). It reads the RateLimit-* headers
/// of every answer and decides, before each call, whether the call may go:
/// <list type="bullet">
/// <item>after a 429 under the server's shared (per-IP) policy, nothing goes to that server until its reset;</item>
/// <item>after a 429 under another policy (one account's limit, such as repo writes), or under the shared one with
/// budget left (a service the PDS forwards to), that account's calls of that method are held until the answer's
/// <c>Retry-After</c>, else that policy's reset, else <see cref="ServerLimitSettings.HoldWithoutReset"/>, and the rest
/// goes on (past <see cref="MaxHeldMethods"/> methods held at once, all the account's calls);</item>
/// <item>ordinary requests never use the last <see cref="ServerLimitSettings.SessionReserve"/> of the shared
/// budget, which is kept for refreshes and logins, so a refresh is never starved by requests;</item>
/// <item>once less than <see cref="ServerLimitSettings.FairShareBelow"/> of it is left, an account that has
/// used its fair share of the window (the budget over the accounts that used the server in the last two
/// windows) waits for the reset, so one busy account cannot starve the others.</item>
/// </list>
/// A held call is answered at once with 429 RateLimitExceeded and the time to retry. The reserve and the fair
/// share apply once the server has advertised its shared budget in its headers: a server that sends none
/// (the reference PDS with its limits off) is not held to a budget it does not have.
/// No server holds anything for longer than <see cref="ServerLimitSettings.MaxHold"/>: a reset further ahead
/// is taken in (and handed on in the answer) as that far ahead.
/// </summary>
public sealed class ServerLimits(ServerLimitSettings settings)
{
    private readonly ConcurrentDictionary<string, ServerBudget> _servers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The settings in force.</summary>
    public ServerLimitSettings Settings { get; } = settings;

    /// <summary>Asks whether a call of <paramref name="nsid"/> by <paramref name="did"/> may go to <paramref name="server"/> (a URL) now.</summary>
    public RateDecision Acquire(string server, string did, string nsid, CallKind kind, DateTimeOffset now) =>
        Budget(server).Acquire(did, nsid, kind, now);

    /// <summary>Until when <paramref name="server"/> refuses everyone (after a 429 under its shared policy), if it does.</summary>
    public DateTimeOffset? BlockedUntil(string server, DateTimeOffset now) => Budget(server).BlockedUntil(now);

    /// <summary>Takes in what an answer says of the server's limits (its headers, and a 429).</summary>
    public void Observe(string server, string did, string nsid, XrpcResponse answer, DateTimeOffset now)
    {
        if (answer.RateLimit is null && answer.Status != 429) return;
        Budget(server).Observe(did, nsid, Bounded(answer, now), now);
    }

    /// <summary>
    /// The answer with its <c>RateLimit-Reset</c> and <c>Retry-After</c> brought to at most
    /// <see cref="ServerLimitSettings.MaxHold"/> after <paramref name="now"/>.
    /// </summary>
    public XrpcResponse Bounded(XrpcResponse answer, DateTimeOffset now)
    {
        if (answer.RateLimit is not { } info) return answer;
        var latest = now + MaxHold;
        if (info.Reset <= latest && !(info.RetryAfter > latest)) return answer;
        return answer with { RateLimit = info with { Reset = info.Reset > latest ? latest : info.Reset, RetryAfter = info.RetryAfter > latest ? latest : info.RetryAfter } };
    }

    /// <summary>The longest hold, never negative and never beyond a year (so that adding it to a clock cannot overflow).</summary>
    private TimeSpan MaxHold => Settings.MaxHold < TimeSpan.Zero ? TimeSpan.Zero
        : Settings.MaxHold > TimeSpan.FromDays(365) ? TimeSpan.FromDays(365) : Settings.MaxHold;

    /// <summary>
    /// Sends one call through the limits: a held call is answered at once with 429 RateLimitExceeded and the
    /// time to retry; an answer's headers are taken in. The decision is made before this returns.
    /// </summary>
    public async Task<XrpcResponse> SendAsync(string server, string did, string nsid, CallKind kind, TimeProvider time, Func<Task<XrpcResponse>> send)
    {
        var decision = Acquire(server, did, nsid, kind, time.GetUtcNow());
        if (decision.HeldUntil is { } until) return XrpcResponse.RateLimited("held by the supervisor: " + decision.Reason, until);
        var answer = await send().ConfigureAwait(false);
        var now = time.GetUtcNow();
        answer = Bounded(answer, now);
        Observe(server, did, nsid, answer, now);
        return answer;
    }

    /// <summary>What is known of every server, for operators.</summary>
    public IReadOnlyList<ServerLimitStatus> Snapshot(DateTimeOffset now) =>
        _servers.Values.Select(b => b.Status(now)).OrderBy(s => s.Server, StringComparer.Ordinal).ToList();

    private ServerBudget Budget(string server)
    {
        var key = Uri.TryCreate(server, UriKind.Absolute, out var uri) ? uri.Authority : server;
        var budget = _servers.GetOrAdd(key, k => new ServerBudget(k, Settings, MaxHold));
        if (_servers.Count > MaxServers) DropIdle(key);
        return budget;
    }

    /// <summary>Past this many servers known, those idle for two windows (no call, no hold, no block) are forgotten.</summary>
    public const int MaxServers = 4096;

    private long _lastDrop;

    /// <summary>
    /// Forgets the servers idle for two of their windows but <paramref name="keep"/>, at most once a minute: logins that
    /// name ever more services (each a server of its own) do not grow the table for good, and a busy one is never dropped.
    /// </summary>
    private void DropIdle(string keep)
    {
        var now = DateTimeOffset.UtcNow;
        var last = Interlocked.Read(ref _lastDrop);
        if (now.UtcTicks - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref _lastDrop, now.UtcTicks, last) != last) return;
        foreach (var (key, budget) in _servers)
            if (key != keep && budget.IsIdle(now)) _servers.TryRemove(key, out _);
    }

    /// <summary>The most methods of one account held at once (after 429s); past it, all its methods are held.</summary>
    public const int MaxHeldMethods = 32;

    /// <summary>The held method that stands for all of an account's methods.</summary>
    private const string AllMethods = "*";

    /// <summary>One server's budget; every member runs under its lock.</summary>
    private sealed class ServerBudget(string server, ServerLimitSettings settings, TimeSpan maxHold)
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, int> _used = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
        /// <summary>Per account, its methods held after a 429 (names in any case: the PDS routes them ignoring case), or <see cref="AllMethods"/>.</summary>
        private readonly Dictionary<string, Dictionary<string, DateTimeOffset>> _held = new(StringComparer.Ordinal);
        private int _limit = settings.Shared.Limit;
        private TimeSpan _window = settings.Shared.Window;
        private int _remaining = settings.Shared.Limit;
        private DateTimeOffset? _reset;
        private DateTimeOffset? _blockedUntil;
        private bool _advertised;
        private DateTimeOffset _lastUsed = DateTimeOffset.MinValue;

        /// <summary>No call for two windows, no hold and no block in force.</summary>
        public bool IsIdle(DateTimeOffset now)
        {
            lock (_gate)
                return _lastUsed < now - 2 * _window && !(_blockedUntil > now) && _held.Values.All(methods => methods.Values.All(until => until <= now));
        }

        public RateDecision Acquire(string did, string nsid, CallKind kind, DateTimeOffset now)
        {
            lock (_gate)
            {
                _lastUsed = now;
                Roll(now);
                if (_blockedUntil is { } blocked && blocked > now)
                    return new RateDecision(blocked, $"{server} refused this host's requests (429) until its limit resets");
                // A method held after a 429 is held for sessions' calls too (a login, a refresh): sent again at once, it
                // would only be refused again.
                if (Held(did, nsid, now) is { } until)
                    return new RateDecision(until, $"{server} limits this account's {nsid} calls (429) until its limit resets");
                if (kind == CallKind.Request && _advertised && Share(did, now) is { } refused) return refused;
                _remaining = Math.Max(0, _remaining - 1);
                return RateDecision.Allowed;
            }
        }

        /// <summary>Null when an ordinary request of <paramref name="did"/> fits the shared budget (and counts it).</summary>
        private RateDecision? Share(string did, DateTimeOffset now)
        {
            _lastSeen[did] = now;
            var reserve = (int)Math.Ceiling(_limit * settings.SessionReserve);
            var resetAt = _reset ?? now + _window;
            if (_remaining <= reserve)
                return new RateDecision(resetAt, $"the rest of {server}'s budget ({_remaining} of {_limit}) is kept for refreshes and logins");
            if (_remaining < _limit * settings.FairShareBelow)
            {
                var fairShare = Math.Max(1, (_limit - reserve) / _lastSeen.Count);
                if (_used.GetValueOrDefault(did) >= fairShare)
                    return new RateDecision(resetAt, $"this account has used its fair share ({fairShare} of {_limit}) of {server}'s budget in this window");
            }
            _used[did] = _used.GetValueOrDefault(did) + 1;
            return null;
        }

        public void Observe(string did, string nsid, XrpcResponse answer, DateTimeOffset now)
        {
            lock (_gate)
            {
                _lastUsed = now;
                var info = answer.RateLimit;
                var window = info?.Policy is { } policy ? PolicyWindow(policy) : null;
                // The shared budget is the one whose limit and window are the server's per-IP ones.
                var shared = info?.Limit is { } limit && (window ?? _window) == _window && limit >= _limit;
                if (shared)
                {
                    _advertised = true;
                    _limit = info!.Limit!.Value;
                    if (info.Reset is { } reset)
                    {
                        if (_reset is not { } known || reset > known + TimeSpan.FromSeconds(1)) _used.Clear();
                        _reset = reset;
                    }
                    if (info.Remaining is { } remaining) _remaining = Math.Min(remaining, _limit);
                }
                if (answer.Status != 429) return;
                var byDefault = now + (settings.HoldWithoutReset < maxHold ? settings.HoldWithoutReset : maxHold);
                // The server's own per-IP limit says it is spent: nothing goes until its reset. A 429 with budget left under
                // it (a service the PDS forwards to, passed on with the PDS's headers and the service's Retry-After) or under
                // another limit (the account's own) holds that account's method only, until its Retry-After or that limit's reset.
                if (shared && info!.Remaining is null or 0)
                    _blockedUntil = Later(info.Reset, now) ?? Later(info.RetryAfter, now) ?? byDefault;
                else
                    Hold(did, nsid, Later(info?.RetryAfter, now) ?? (shared ? null : Later(info?.Reset, now)) ?? byDefault, now);
            }
        }

        private static DateTimeOffset? Later(DateTimeOffset? at, DateTimeOffset now) => at > now ? at : null;

        /// <summary>Until when <paramref name="did"/>'s calls of <paramref name="nsid"/> are held, if they are.</summary>
        private DateTimeOffset? Held(string did, string nsid, DateTimeOffset now)
        {
            if (!_held.TryGetValue(did, out var methods)) return null;
            DateTimeOffset? until = methods.TryGetValue(AllMethods, out var all) && all > now ? all : null;
            if (methods.TryGetValue(nsid, out var one) && one > now && !(until >= one)) until = one;
            return until;
        }

        /// <summary>
        /// Holds a method of an account; past <see cref="MaxHeldMethods"/> held at once, the account's every method is
        /// held instead until the latest of them: the names come from its clients, and a server answering 429 to each
        /// must not make this grow without end.
        /// </summary>
        private void Hold(string did, string nsid, DateTimeOffset until, DateTimeOffset now)
        {
            if (!_held.TryGetValue(did, out var methods)) _held[did] = methods = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
            methods[nsid] = until;
            if (methods.Count <= MaxHeldMethods) return;
            DropEnded(methods, now);
            if (methods.Count <= MaxHeldMethods) return;
            var latest = methods.Values.Max();
            methods.Clear();
            methods[AllMethods] = latest;
        }

        public DateTimeOffset? BlockedUntil(DateTimeOffset now)
        {
            lock (_gate) return _blockedUntil > now ? _blockedUntil : null;
        }

        public ServerLimitStatus Status(DateTimeOffset now)
        {
            lock (_gate)
            {
                Roll(now);
                var blocked = _blockedUntil > now ? _blockedUntil : null;
                return new ServerLimitStatus(server, _limit, _remaining, _reset, blocked, _lastSeen.Count, _held.Values.Sum(m => m.Count(h => h.Value > now)));
            }
        }

        /// <summary>A new window once the known reset has passed: the budget is whole again.</summary>
        private void Roll(DateTimeOffset now)
        {
            _reset ??= now + _window;
            if (_reset > now) return;
            _reset = now + _window;
            _remaining = _limit;
            _used.Clear();
            var horizon = now - 2 * _window;
            foreach (var gone in _lastSeen.Where(s => s.Value < horizon).Select(s => s.Key).ToList()) _lastSeen.Remove(gone);
            foreach (var (did, methods) in _held.ToList())
            {
                DropEnded(methods, now);
                if (methods.Count == 0) _held.Remove(did);
            }
        }

        /// <summary>Drops the holds of <paramref name="methods"/> that have ended by <paramref name="now"/>.</summary>
        private static void DropEnded(Dictionary<string, DateTimeOffset> methods, DateTimeOffset now)
        {
            foreach (var over in methods.Where(m => m.Value <= now).Select(m => m.Key).ToList()) methods.Remove(over);
        }

        /// <summary>The window of a <c>RateLimit-Policy</c> such as <c>3000;w=300</c>.</summary>
        private static TimeSpan? PolicyWindow(string policy)
        {
            foreach (var part in policy.Split(';').Skip(1))
            {
                var kv = part.Trim().Split('=', 2);
                if (kv.Length == 2 && kv[0] == "w" && int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                    return TimeSpan.FromSeconds(seconds);
            }
            return null;
        }
    }
}

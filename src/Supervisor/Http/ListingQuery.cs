using Microsoft.Extensions.Primitives;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Host.Http;

/// <summary>
/// Reads a listing's query string (<c>state</c>, <c>q</c>, <c>limit</c>, <c>cursor</c>) into a <see cref="ListAccounts"/>,
/// for <c>GET /accounts</c> and the status page; what it cannot read is said in words for a 400.
/// </summary>
public static class ListingQuery
{
    /// <summary>
    /// The listing <paramref name="query"/> asks for, or false with the <paramref name="problem"/>. A parameter given
    /// twice, a state that is not one of <see cref="AccountStateName"/> (by name, any case), a limit that is not a whole
    /// number from 1 to <paramref name="maxLimit"/> or a cursor this supervisor did not make is a problem; empty
    /// parameters (as a form sends them) are left out.
    /// </summary>
    public static bool TryParse(IQueryCollection query, out ListAccounts listing, out string problem, int maxLimit = AccountPage.MaxLimit)
    {
        listing = ListAccounts.Instance;
        problem = "";
        if (!Single(query, "state", out var stateText, ref problem)
            || !Single(query, "q", out var text, ref problem)
            || !Single(query, "limit", out var limitText, ref problem)
            || !Single(query, "cursor", out var cursor, ref problem))
            return false;
        AccountStateName? state = null;
        if (stateText is not null)
        {
            var name = Enum.GetNames<AccountStateName>().FirstOrDefault(n => string.Equals(n, stateText, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                problem = $"state must be one of {string.Join(", ", Enum.GetNames<AccountStateName>())}";
                return false;
            }
            state = Enum.Parse<AccountStateName>(name);
        }
        if (!Limit(limitText, Math.Min(AccountPage.DefaultLimit, maxLimit), maxLimit, out var limit, ref problem)) return false;
        listing = new ListAccounts(state, text, limit, cursor);
        if (AccountPage.Validate(listing) is { } invalid)
        {
            problem = invalid.Message;
            return false;
        }
        return true;
    }

    /// <summary>The limit <paramref name="text"/> gives (<paramref name="byDefault"/> when null), or false when it is not a whole number from 1 to <paramref name="max"/>.</summary>
    internal static bool Limit(string? text, int byDefault, int max, out int limit, ref string problem)
    {
        limit = byDefault;
        if (text is null
            || int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) && limit >= 1 && limit <= max)
            return true;
        problem = $"limit must be a whole number from 1 to {max}";
        return false;
    }

    /// <summary>The one value of <paramref name="name"/> (null when absent or empty), or false when it is given twice.</summary>
    internal static bool Single(IQueryCollection query, string name, out string? value, ref string problem)
    {
        value = null;
        if (!query.TryGetValue(name, out StringValues values)) return true;
        if (values.Count > 1)
        {
            problem = $"'{name}' is given more than once";
            return false;
        }
        value = string.IsNullOrEmpty(values[0]) ? null : values[0];
        return true;
    }
}

using System.Globalization;
using Supervisor.Actors.Audit;

namespace Supervisor.Host.Http;

/// <summary>
/// Reads <c>GET /audit</c>'s query string (<c>limit</c>, <c>before</c>) into a <see cref="AuditTrail.GetAuditEntries"/>;
/// what it cannot read is said in words for a 400, as a listing's is.
/// </summary>
public static class AuditQuery
{
    /// <summary>The entries a page has when the query names no limit.</summary>
    public const int DefaultLimit = 100;

    /// <summary>
    /// The page <paramref name="query"/> asks for, or false with the <paramref name="problem"/>: a parameter given twice, a
    /// limit that is not a whole number from 1 to <see cref="AuditTrail.MaxPage"/>, a <c>before</c> that is not a time
    /// (ISO 8601; one without an offset is UTC).
    /// </summary>
    public static bool TryParse(IQueryCollection query, out AuditTrail.GetAuditEntries get, out string problem)
    {
        get = new AuditTrail.GetAuditEntries(DefaultLimit);
        problem = "";
        if (!ListingQuery.Single(query, "limit", out var limitText, ref problem) || !ListingQuery.Single(query, "before", out var beforeText, ref problem))
            return false;
        if (!ListingQuery.Limit(limitText, DefaultLimit, AuditTrail.MaxPage, out var limit, ref problem)) return false;
        DateTimeOffset? before = null;
        if (beforeText is not null)
        {
            // The '+' of an offset written into a URL as it is arrives as a space.
            if (!DateTimeOffset.TryParse(beforeText.Replace(' ', '+'), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                problem = "before must be a time in ISO 8601, as 2026-12-06T12:00:00Z";
                return false;
            }
            before = at;
        }
        get = new AuditTrail.GetAuditEntries(limit, before);
        return true;
    }
}

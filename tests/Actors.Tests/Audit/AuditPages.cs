using Akka.Actor;
using Supervisor.Actors.Audit;

namespace Supervisor.Actors.Tests.Audit;

/// <summary>Reads an audit trail whole, as the HTTP API's pages do.</summary>
public static class AuditPages
{
    /// <summary>
    /// Every entry <paramref name="trail"/> answers, newest first, page by page (<paramref name="pageSize"/> at most a page),
    /// each page asked before the last time of the page before.
    /// </summary>
    public static async Task<List<AuditEntry>> AllAsync(IActorRef trail, int pageSize = 1_000)
    {
        var (entries, before) = (new List<AuditEntry>(), (DateTimeOffset?)null);
        while (true)
        {
            var page = await trail.Ask<AuditTrail.AuditEntries>(new AuditTrail.GetAuditEntries(pageSize, before), TimeSpan.FromSeconds(120));
            if (page.Entries.Count == 0) return entries;
            entries.AddRange(page.Entries);
            before = page.Entries[^1].At;
        }
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Audit;

/// <summary>GET /audit's query string: a limit from 1 to 1,000 (100 when absent), a time in ISO 8601 (UTC without an offset).</summary>
public sealed class AuditQuerySpec
{
    private static QueryCollection Query(params (string Name, string[] Values)[] parameters) =>
        new(parameters.ToDictionary(p => p.Name, p => new StringValues(p.Values)));

    [Fact]
    public void A_limit_from_1_to_1000_and_a_time_with_or_without_an_offset_are_read_and_nothing_else_is()
    {
        Assert.True(AuditQuery.TryParse(Query(), out var get, out _));
        Assert.Equal((100, null), (get.Limit, get.Before));
        Assert.True(AuditQuery.TryParse(Query(("limit", ["1000"]), ("before", ["2026-12-06T12:00:00"])), out get, out _));
        Assert.Equal((1000, new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero)), (get.Limit, get.Before));
        Assert.True(AuditQuery.TryParse(Query(("limit", ["1"]), ("before", ["2026-12-06T13:00:00 01:00"])), out get, out _)); // '+' as a URL gives it
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero), get.Before!.Value.ToUniversalTime());
        Assert.True(AuditQuery.TryParse(Query(("limit", [""]), ("before", [""])), out get, out _)); // empty, as a form sends them
        Assert.Equal((100, null), (get.Limit, get.Before));

        foreach (var limit in new[] { "0", "1001", "-1", "+5", "1e3", "ten" })
        {
            Assert.False(AuditQuery.TryParse(Query(("limit", [limit])), out _, out var problem), limit);
            Assert.Equal("limit must be a whole number from 1 to 1000", problem);
        }
        Assert.False(AuditQuery.TryParse(Query(("before", ["not a time"])), out _, out var notATime));
        Assert.StartsWith("before must be a time", notATime);
        Assert.False(AuditQuery.TryParse(Query(("before", ["2026-01-01", "2026-01-02"])), out _, out var twice));
        Assert.Equal("'before' is given more than once", twice);
    }
}

using System.Text.RegularExpressions;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The status page loads nothing from elsewhere: no outside fonts, styles, scripts or images.</summary>
public sealed class StatusPageSpec
{
    [Fact]
    public void The_status_page_references_no_outside_resource()
    {
        var accounts = new[]
        {
            new AccountStatus("did:plc:alice", "alice.example.com", "https://bsky.social", "https://pds.example.com", AccountStateName.Active,
                "com.atproto.access", DateTimeOffset.UtcNow.AddHours(2), DateTimeOffset.UtcNow.AddDays(90), DateTimeOffset.UtcNow, 3, 1, null, 0),
            new AccountStatus("did:plc:bob", "bob.example.com", "https://bsky.social", "https://pds.example.com", AccountStateName.Degraded,
                "com.atproto.appPass", null, null, null, 0, 1, new XrpcError("InternalServerError", "see https://status.example.com"), 0),
        };
        var html = StatusPage.Render(accounts, DateTimeOffset.UtcNow);
        Assert.Contains("alice.example.com", html);

        // Account data (a PDS URL) may be shown as text; nothing may be loaded or linked.
        foreach (var pattern in new[]
                 {
                     @"<link\b", @"<script\b", @"<img\b", @"<iframe\b", @"<object\b", @"<embed\b", @"<source\b", @"@import", @"@font-face",
                     @"\b(src|href|srcset|action|poster|data)\s*=", @"url\s*\(",
                 })
            Assert.DoesNotMatch(new Regex(pattern, RegexOptions.IgnoreCase), html);
        // Every http(s) URL in the page is the text of a table cell.
        var cells = Regex.Matches(html, "<td>([^<]*)</td>").Select(m => m.Groups[1].Value).ToList();
        foreach (Match url in Regex.Matches(html, @"https?://[^\s""'<>)]+"))
            Assert.Contains(cells, c => c.Contains(url.Value, StringComparison.Ordinal));
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// <c>GET /audit?limit=&amp;before=</c> and <c>GET /keys</c> over HTTP, the host as a process against the fake PDS: pages
/// of the trail newest first, a page before a time, what cannot be read a 400 in words, and who issued a key.
/// </summary>
public sealed class AuditHttpSpec : FakePdsHostSpec
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(SupervisorProcess host, string path)
    {
        using var answer = await host.Http.GetAsync(path);
        return (answer.StatusCode, JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static List<(DateTimeOffset At, string Action)> Entries(JsonElement page) =>
        page.EnumerateArray().Select(e => (e.GetProperty("at").GetDateTimeOffset(), e.GetProperty("action").GetString()!)).ToList();

    [Fact]
    public async Task The_trail_is_paged_newest_first_by_limit_and_before_and_what_cannot_be_read_is_a_400_in_words()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        foreach (var format in new[] { "python", "json", "python" })
            using (var export = await host.Http.GetAsync($"/accounts/{alice.Did}/session?format={format}")) Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        using (var issued = await host.Http.PostAsJsonAsync("/keys", new { account = alice.Did, name = "bot" }))
        {
            Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
            TestSecrets.Register("account-key", (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        }

        // The trail takes its entries as they are told to it (after the answers above): wait for the four.
        var all = new List<(DateTimeOffset At, string Action)>();
        await SupervisorSpec.EventuallyAsync(async () => (all = Entries((await GetAsync(host, "/audit")).Body)).Count == 4, TimeSpan.FromSeconds(10), "the four entries");
        Assert.Equal(["KeyIssued", "SessionExported", "SessionExported", "SessionExported"], all.Select(e => e.Action));
        Assert.True(all.Zip(all.Skip(1)).All(pair => pair.Item1.At >= pair.Item2.At), "not newest first");
        Assert.Equal(all[..2], Entries((await GetAsync(host, "/audit?limit=2")).Body));
        // Before the second entry's time, as it is written, its offset's '+' unencoded in the URL (it comes as a space).
        var before = all[1].At.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture);
        Assert.Contains("+", before);
        Assert.Equal(all[2..], Entries((await GetAsync(host, $"/audit?before={before}")).Body));
        Assert.Equal(all[2..3], Entries((await GetAsync(host, $"/audit?limit=1&before={Uri.EscapeDataString(before)}")).Body));

        foreach (var (query, words) in new[]
                 {
                     ("limit=0", "limit must be a whole number from 1 to 1000"), ("limit=1001", "limit must be a whole number from 1 to 1000"),
                     ("limit=ten", "limit must be a whole number from 1 to 1000"), ("before=yesterday", "before must be a time"),
                     ("limit=1&limit=2", "'limit' is given more than once"),
                 })
        {
            var (status, body) = await GetAsync(host, "/audit?" + query);
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidRequest"), (status, body.GetProperty("error").GetString()));
            Assert.Contains(words, body.GetProperty("message").GetString());
        }

        var key = Assert.Single((await GetAsync(host, "/keys")).Body.EnumerateArray());
        Assert.Equal(("admin", "bot", alice.Did), (key.GetProperty("issuedBy").GetString(), key.GetProperty("name").GetString(), key.GetProperty("account").GetString()));
    }
}

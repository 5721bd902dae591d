using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// GET /events, the host as a process against a fake PDS: session events as server-sent events, in order, with
/// increasing ids and never a token; resumable with Last-Event-ID; an account key sees its own account only.
/// </summary>
public sealed class SessionEventsSpec : FakePdsHostSpec
{
    private async Task<SupervisorProcess> StartHostAsync()
    {
        var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        await host.WaitUntilAccountsServeAsync();
        return host;
    }

    private static async Task RefreshAsync(SupervisorProcess host, string did)
    {
        using var answer = await host.Http.PostAsync($"/accounts/{did}/refresh", null);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task An_admin_reader_sees_a_login_a_refresh_and_a_revocation_in_order_with_increasing_ids_and_no_token()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await using var events = await SseReader.OpenAsync(host, "/events");

        await LoginAsync(host, alice);
        await RefreshAsync(host, alice.Did);
        Pds.RevokeAllRefreshTokens(alice.Did);
        await RefreshAsync(host, alice.Did);

        var created = await events.NextAsync();
        var refreshed = await events.NextAsync();
        var deleted = await events.NextAsync();
        Assert.Equal(("Create", "Refresh", "Deleted"), (created.Event, refreshed.Event, deleted.Event));
        Assert.All(new[] { created, refreshed, deleted }, e =>
        {
            Assert.Equal(alice.Did, e.Data.GetProperty("did").GetString());
            Assert.Equal(alice.Handle, e.Data.GetProperty("handle").GetString());
            Assert.Equal(e.Event, e.Data.GetProperty("kind").GetString());
            Assert.True(e.Data.TryGetProperty("at", out _));
        });
        Assert.Equal(("Active", "NeedsLogin"), (created.Data.GetProperty("state").GetString(), deleted.Data.GetProperty("state").GetString()));
        Assert.Equal("ExpiredToken", deleted.Data.GetProperty("error").GetProperty("error").GetString());
        Assert.True(deleted.Data.GetProperty("error").TryGetProperty("message", out _));
        Assert.Equal(created.Boot, deleted.Boot);
        Assert.True(created.Seq < refreshed.Seq && refreshed.Seq < deleted.Seq);
        var read = string.Join("\n", events.Lines);
        Assert.Empty(Secrets.JwtsIn(read));
        Assert.DoesNotContain("Jwt", read, StringComparison.OrdinalIgnoreCase);
        Assert.All(new[] { created, refreshed, deleted }, e =>
            Assert.Subset(new HashSet<string> { "did", "handle", "kind", "state", "error", "at" }, e.Data.EnumerateObject().Select(p => p.Name).ToHashSet()));
    }

    [Fact]
    public async Task A_reconnect_with_Last_Event_ID_gets_exactly_the_events_after_it()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        Sse first, second, third;
        await using (var events = await SseReader.OpenAsync(host, "/events"))
        {
            await LoginAsync(host, alice);
            await RefreshAsync(host, alice.Did);
            await RefreshAsync(host, alice.Did);
            (first, second, third) = (await events.NextAsync(), await events.NextAsync(), await events.NextAsync());
        }

        await using (var resumed = await SseReader.OpenAsync(host, "/events", lastEventId: first.Id))
        {
            Assert.Equal(second.Id, (await resumed.NextAsync()).Id);
            Assert.Equal(third.Id, (await resumed.NextAsync()).Id);
            await RefreshAsync(host, alice.Did);
            var fourth = await resumed.NextAsync();
            Assert.Equal(("Refresh", third.Seq + 1), (fourth.Event, fourth.Seq));
            Assert.Empty(resumed.Comments);
        }

        // For clients that cannot set headers, the same from the query.
        await using (var resumed = await SseReader.OpenAsync(host, $"/events?lastEventId={Uri.EscapeDataString(third.Id)}"))
            Assert.Equal(third.Seq + 1, (await resumed.NextAsync()).Seq);
    }

    [Fact]
    public async Task A_reader_more_than_1000_events_behind_gets_what_it_holds_then_a_final_comment_and_resumes_with_Last_Event_ID()
    {
        await using var host = await StartHostAsync();
        // A reader that reads nothing while the events come: its connection takes 4 KiB, the host's socket and response
        // buffers their share, and then its 1,000 events wait in the host's memory.
        await using var slow = await SseReader.OpenAsync(host, "/events", receiveBuffer: 4096);
        const int Imported = 4_000;
        var dids = new List<string>();
        for (var i = 0; i < Imported; i++)
        {
            // (Long handles make long events: fewer of them fill the buffers before the host's.)
            var account = Pds.CreateAccount($"{new string('a', 60)}.{new string('b', 60)}.many{i}.test", $"pw-many-{i}");
            var (access, refresh) = Pds.IssuePair(account.Did);
            using var imported = await host.Http.PostAsJsonAsync("/accounts/import",
                new { session = $"{account.Handle}:::{account.Did}:::{access}:::{refresh}:::{Pds.Url}", validate = false });
            Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
            dids.Add(account.Did);
        }

        // Once it reads: the events it held, in order, then the comment, then the end of the stream.
        var held = new List<Sse>();
        var read = Task.Run(async () =>
        {
            try
            {
                while (true) held.Add(await slow.NextAsync());
            }
            catch (EndOfStreamException)
            {
                // the host ended the stream
            }
        });
        await read.WaitAsync(TimeSpan.FromSeconds(90)).ContinueWith(t =>
            Assert.True(t.IsCompletedSuccessfully, $"the stream did not end after {held.Count} events: {t.Exception?.InnerException?.Message}"));
        Assert.Contains(": disconnected: this reader fell too far behind; reconnect with Last-Event-ID to resume", slow.Comments);
        Assert.InRange(held.Count, 1_000, Imported - 1);
        Assert.Equal(dids.Take(held.Count), held.Select(e => e.Data.GetProperty("did").GetString()));

        // Resumed from the last event it read: exactly the rest.
        await using var resumed = await SseReader.OpenAsync(host, "/events", lastEventId: held[^1].Id);
        var rest = new List<string>();
        while (rest.Count < Imported - held.Count) rest.Add((await resumed.NextAsync()).Data.GetProperty("did").GetString()!);
        Assert.Equal(dids.Skip(held.Count), rest);
        Assert.DoesNotContain(resumed.Comments, c => c.Contains("missed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Last_Event_ID_of_another_start_replays_the_whole_buffer_after_a_comment_that_events_may_have_been_missed()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        await RefreshAsync(host, alice.Did);

        await using var resumed = await SseReader.OpenAsync(host, "/events", lastEventId: "1000-1");
        var created = await resumed.NextAsync();
        var refreshed = await resumed.NextAsync();
        Assert.Equal(("Create", "Refresh"), (created.Event, refreshed.Event));
        Assert.Equal(1, created.Seq);
        Assert.Contains(resumed.Comments, c => c.Contains("missed"));
    }

    [Fact]
    public async Task An_account_key_reader_sees_only_its_own_account_and_is_refused_another()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        await LoginAsync(host, alice);
        await LoginAsync(host, bob);
        var (_, key) = await IssueKeyAsync(host, alice.Did);

        await using (var own = await SseReader.OpenAsync(host, "/events", bearer: key))
        {
            await RefreshAsync(host, bob.Did);
            await RefreshAsync(host, alice.Did);
            var first = await own.NextAsync();
            Assert.Equal(("Refresh", alice.Did), (first.Event, first.Data.GetProperty("did").GetString()));
        }
        // Naming its own account by handle is fine; naming another is not.
        await using (var byHandle = await SseReader.OpenAsync(host, $"/events?account={alice.Handle}", bearer: key))
        {
            await RefreshAsync(host, alice.Did);
            Assert.Equal(alice.Did, (await byHandle.NextAsync()).Data.GetProperty("did").GetString());
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/events?account={bob.Handle}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var refused = await host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_quiet_stream_gets_a_keep_alive_comment_every_15_seconds()
    {
        await using var host = await StartHostAsync();
        var opened = DateTime.UtcNow; // before the stream opens: its timer starts within the open
        await using var reader = await SseReader.OpenAsync(host, "/events");
        Assert.Equal(": keep-alive", await reader.NextCommentAsync(TimeSpan.FromSeconds(20)));
        Assert.InRange((DateTime.UtcNow - opened).TotalSeconds, 13, 18);
    }

    [Fact]
    public async Task A_key_readers_stream_ends_once_its_key_is_revoked()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        Assert.True(Supervisor.Actors.Keys.AccountKey.TryParse(key, out var id, out _));

        await using var reader = await SseReader.OpenAsync(host, "/events", bearer: key);
        await RefreshAsync(host, alice.Did);
        Assert.Equal("Refresh", (await reader.NextAsync()).Event);
        using (var revoked = await host.Http.DeleteAsync($"/keys/{id}"))
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);

        // The next event is not sent to it: the stream ends, saying why.
        await RefreshAsync(host, alice.Did);
        await Assert.ThrowsAsync<EndOfStreamException>(reader.NextAsync);
        Assert.Contains(reader.Comments, c => c.Contains("revoked"));
        Assert.Single(reader.Lines, l => l.StartsWith("event: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_key_readers_stream_ends_once_its_key_has_expired()
    {
        await using var host = await StartHostAsync();
        var dora = Pds.CreateAccount("dora.test", "pw-dora");
        await LoginAsync(host, dora);
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(12); // time for the first event on a loaded machine
        var (_, key) = await IssueKeyAsync(host, dora.Did, expiresAt: expiresAt);

        await using var reader = await SseReader.OpenAsync(host, "/events", bearer: key);
        await RefreshAsync(host, dora.Did);
        Assert.Equal("Refresh", (await reader.NextAsync()).Event);

        // Past its expiry the next event is not sent to it: the stream ends, saying why.
        await Task.Delay(expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(0.5));
        await RefreshAsync(host, dora.Did);
        await Assert.ThrowsAsync<EndOfStreamException>(reader.NextAsync);
        Assert.Contains(reader.Comments, c => c.Contains("expired"));
        Assert.Single(reader.Lines, l => l.StartsWith("event: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_admin_reader_narrowed_to_one_account_sees_only_it_and_an_unknown_account_is_404()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        await LoginAsync(host, alice);
        await LoginAsync(host, bob);

        await using (var narrowed = await SseReader.OpenAsync(host, $"/events?account={bob.Handle}"))
        {
            await RefreshAsync(host, alice.Did);
            await RefreshAsync(host, bob.Did);
            Assert.Equal(bob.Did, (await narrowed.NextAsync()).Data.GetProperty("did").GetString());
        }
        using var missing = await host.Http.GetAsync("/events?account=nobody.test");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("AccountNotFound", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_account_key_has_at_most_eight_streams_open_and_a_closed_one_makes_room()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        var open = new List<SseReader>();
        try
        {
            for (var i = 0; i < 8; i++) open.Add(await SseReader.OpenAsync(host, "/events", bearer: key));

            using (var ninth = await GetEventsAsync(host, key))
            {
                Assert.Equal((HttpStatusCode)429, ninth.StatusCode);
                var body = await ninth.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal("TooManyStreams", body.GetProperty("error").GetString());
                Assert.Contains("supervisor.events.max-readers-per-key", body.GetProperty("message").GetString());
            }
            // The limit is the key's: the admin still reads, and the key's streams still get their events.
            await using (var admin = await SseReader.OpenAsync(host, "/events"))
            {
                await RefreshAsync(host, alice.Did);
                Assert.Equal("Refresh", (await admin.NextAsync()).Event);
                Assert.Equal("Refresh", (await open[7].NextAsync()).Event);
            }

            await open[0].DisposeAsync();
            open.RemoveAt(0);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                using var again = await GetEventsAsync(host, key, HttpCompletionOption.ResponseHeadersRead);
                if (again.StatusCode == HttpStatusCode.OK) break;
                Assert.True(DateTime.UtcNow < deadline, $"a closed stream made no room: {(int)again.StatusCode}");
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var reader in open) await reader.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> GetEventsAsync(SupervisorProcess host, string bearer, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        // A stream that opens when refusal was expected never ends: the timeout fails the test instead of hanging it.
        using var http = new HttpClient { BaseAddress = host.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        return await http.SendAsync(request, completion);
    }

    [Fact]
    public async Task An_anonymous_reader_is_refused_401()
    {
        await using var host = await StartHostAsync();
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using var answer = await anonymous.GetAsync("/events");
        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
    }
}

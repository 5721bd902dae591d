using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// A token with an absurd expiry (year 1) is refused at import; one already in the journal, from a version
/// that accepted it, recovers as an account that needs a login: the host answers for it and stops on SIGTERM.
/// </summary>
public sealed class PoisonedJournalSpec : FakePdsHostSpec
{
    private static string YearOneAccessToken(string did) =>
        JwtClaims.EncodeSegment("""{"typ":"at+jwt","alg":"HS256"}""") + "." +
        JwtClaims.EncodeSegment($$"""{"scope":"com.atproto.access","aud":"did:web:localhost","sub":"{{did}}","iat":-62135596800,"exp":-62135596800}""") + ".c2ln";

    [Fact]
    public async Task A_journaled_token_of_year_1_recovers_as_needs_login_and_the_host_answers_and_stops_on_sigterm()
    {
        var account = Pds.CreateAccount("poison.test", "pw-poison");
        var (_, refresh) = Pds.IssuePair(account.Did);
        var poison = YearOneAccessToken(account.Did);
        await using var host = new SupervisorProcess(Folder.Folder, Folder.HostEnvironment());
        await host.StartAsync();

        using (var import = await host.Http.PostAsJsonAsync("/accounts/import", new { session = $"poison.test:::{account.Did}:::{poison}:::{refresh}", service = Pds.Url }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, import.StatusCode);
            var refused = await import.Content.ReadAsStringAsync();
            Assert.Contains("the access token has an exp claim outside 2000-01-01..2200-01-01", refused);
            Assert.DoesNotContain(poison.Split('.')[1], refused);
        }
        Assert.Equal(0, await host.TerminateAsync());

        // As a version that accepted the token journaled it (version 1: plain tokens).
        var established = $$"""
            {"origin":"Import","service":"{{Pds.Url}}","grant":{"did":"{{account.Did}}","handle":"poison.test","tokens":{"accessJwt":"{{poison}}","refreshJwt":"{{refresh}}"},"active":true},"at":"2026-11-20T10:00:00+00:00"}
            """;
        var next = JournalRows.Read(Folder, RegistryBucket.PersistenceIdFor(account.Did, 32)).Select(r => r.SequenceNumber).DefaultIfEmpty(0).Max() + 1;
        JournalRows.Insert(Folder, RegistryBucket.PersistenceIdFor(account.Did, 32), next, "AccountRegistered.v1", $$"""{"did":"{{account.Did}}","handle":"poison.test"}""");
        JournalRows.Insert(Folder, AccountSessionActor.PersistenceIdFor(account.Did), 1, "SessionEstablished.v1", established);

        await host.StartAsync();
        var status = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
        Assert.Equal("NeedsLogin", status.GetProperty("state").GetString());
        Assert.Equal(AccountRules.InvalidStoredSession, status.GetProperty("lastError").GetProperty("error").GetString());
        Assert.Contains("the stored session is invalid", status.GetProperty("lastError").GetProperty("message").GetString());

        var stopping = Stopwatch.StartNew();
        Assert.Equal(0, await host.TerminateAsync());
        Assert.InRange(stopping.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(25));
        Assert.DoesNotContain("ArgumentOutOfRangeException", host.Output);
        Assert.DoesNotContain("stored tokens are unusable", host.Output);
        Assert.Equal(0, Pds.CallCount("com.atproto.server.refreshSession"));
    }
}

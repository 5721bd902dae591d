using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>
/// What the fake PDS must answer as the reference PDS does, each spec run against both: a refresh for an
/// account the server does not host, and a login whose identifier is not in lower case.
/// </summary>
[Collection(RealPdsCollection.Name)]
public sealed class FakePdsFidelitySpec(RealPdsServer pds, ITestOutputHelper output) : SupervisorSpec(new TestJournal(), output)
{
    private static readonly HttpClient Direct = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Theory]
    [InlineData("real")]
    [InlineData("fake")]
    public async Task A_validly_signed_refresh_for_an_account_the_server_does_not_host_is_400_InvalidRequest(string server)
    {
        await using var fake = await FakePdsServer.StartAsync();
        await using var other = await FakePdsServer.StartAsync();
        string url, refreshJwt, stranger;
        if (server == "real")
        {
            // The server's own refresh token, with another DID as its subject, signed again with the server's secret.
            var account = await pds.CreateAccountAsync("u");
            stranger = "did:plc:" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
            url = pds.Url;
            refreshJwt = Resign(account.RefreshJwt, stranger, Environment.GetEnvironmentVariable("PDS_JWT_SECRET")
                ?? throw new InvalidOperationException("PDS_JWT_SECRET is not set: run the suite with scripts/test"));
        }
        else
        {
            // Every fake signs with the same key: a token of another fake's account is valid here, for a DID it does not host.
            var account = other.CreateAccount("stranger.test", "pw-stranger");
            stranger = account.Did;
            url = fake.Url;
            refreshJwt = other.IssuePair(account.Did).RefreshJwt;
        }
        var (status, error, message) = await RefreshAsync(url, refreshJwt);
        Assert.Equal((400, "InvalidRequest"), (status, error));
        Assert.Equal($"Could not find user info for account: {stranger}", message);
    }

    [Theory]
    [InlineData("real")]
    [InlineData("fake")]
    public async Task A_login_with_an_upper_cased_handle_is_the_login_of_that_handle(string server)
    {
        await using var fake = await FakePdsServer.StartAsync();
        var (url, did, handle, password) = server == "real"
            ? await RealAsync()
            : FakeAccount(fake.CreateAccount("mixed.test", "pw-mixed"));
        var status = await LoginAsync(url, handle.ToUpperInvariant(), password);
        Assert.Equal((did, handle), (status.Did, status.Handle));
        Assert.Equal(200, (await CallAsync(handle, GetSession)).Status);

        async Task<(string, string, string, string)> RealAsync()
        {
            var account = await pds.CreateAccountAsync("m");
            return (pds.Url, account.Did, account.Handle, account.Password);
        }

        (string, string, string, string) FakeAccount(FakeAccount account) => (fake.Url, account.Did, account.Handle, account.Password);
    }

    private static async Task<(int Status, string? Error, string? Message)> RefreshAsync(string url, string refreshJwt)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/xrpc/com.atproto.server.refreshSession");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", refreshJwt);
        using var answer = await Direct.SendAsync(request);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        return ((int)answer.StatusCode,
            body.TryGetProperty("error", out var e) ? e.GetString() : null,
            body.TryGetProperty("message", out var m) ? m.GetString() : null);
    }

    /// <summary>The token with <paramref name="subject"/> as its <c>sub</c>, signed again (HS256) with <paramref name="secret"/>.</summary>
    private static string Resign(string jwt, string subject, string secret)
    {
        var parts = jwt.Split('.');
        var claims = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        claims["sub"] = subject;
        var input = parts[0] + "." + JwtClaims.EncodeSegment(claims.ToJsonString());
        return input + "." + JwtClaims.EncodeSegment(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(input)));
    }
}

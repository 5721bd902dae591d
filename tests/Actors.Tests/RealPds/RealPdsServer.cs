using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>A new account on the real PDS, with the pair createAccount returned.</summary>
public sealed record RealAccount(string Did, string Handle, string Password, string AccessJwt, string RefreshJwt)
{
    /// <summary>The address it was created with.</summary>
    public string Email => EmailOf(Handle);

    /// <summary>The address an account of <paramref name="handle"/> is created with.</summary>
    public static string EmailOf(string handle) => handle.Split('.')[0] + "@example.com";

    /// <summary>The account's session as the Python SDK exports it, on <paramref name="pdsUrl"/>.</summary>
    public string SessionString(string pdsUrl) => $"{Handle}:::{Did}:::{AccessJwt}:::{RefreshJwt}:::{pdsUrl}";
}

/// <summary>
/// The reference PDS started by scripts/test (scripts/pds/start-pds), found through PDS_URL,
/// PDS_ADMIN_PASSWORD, PDS_ACCESS_TTL_SECONDS and PDS_PLC_URL. Creates accounts and applies admin actions.
/// </summary>
public class RealPdsServer : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public RealPdsServer() : this("PDS_URL", "PDS_ADMIN_PASSWORD")
    {
    }

    protected RealPdsServer(string urlVariable, string adminPasswordVariable)
    {
        Url = Environment.GetEnvironmentVariable(urlVariable) is { Length: > 0 } url
            ? url.TrimEnd('/')
            : throw new InvalidOperationException($"{urlVariable} is not set: run the suite with scripts/test, which starts the real PDS");
        AdminPassword = Environment.GetEnvironmentVariable(adminPasswordVariable) ?? "";
        Support.TestSecrets.Register("admin-password", AdminPassword);
        AccessTokenLifetime = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("PDS_ACCESS_TTL_SECONDS"), out var s) ? s : 7200);
        PlcUrl = (Environment.GetEnvironmentVariable("PDS_PLC_URL") ?? "").TrimEnd('/');
    }

    /// <summary>The local PLC directory the PDS registers its accounts' DIDs in (PDS_PLC_URL; empty when not set).</summary>
    public string PlcUrl { get; }

    public string Url { get; }

    public string AdminPassword { get; }

    /// <summary>The access token lifetime the PDS was started with (PDS_TEST_ACCESS_JWT_TTL).</summary>
    public TimeSpan AccessTokenLifetime { get; }

    /// <summary>The endpoint the PDS's DID documents name (its public URL).</summary>
    public string PublicUrl => Url.Replace("127.0.0.1", "localhost");

    public static string NewHandle(string prefix) => $"{prefix}{Guid.NewGuid().ToString("N")[..10]}.test";

    public async Task<RealAccount> CreateAccountAsync(string prefix = "t")
    {
        var handle = NewHandle(prefix);
        var password = Support.TestSecrets.Password("pw-" + Guid.NewGuid().ToString("N"));
        var answer = await _http.PostAsJsonAsync($"{Url}/xrpc/com.atproto.server.createAccount",
            new { handle, email = RealAccount.EmailOf(handle), password });
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"createAccount failed: {(int)answer.StatusCode} {body.GetProperty("error")}");
        return new RealAccount(body.GetProperty("did").GetString()!, handle, password,
            body.GetProperty("accessJwt").GetString()!, body.GetProperty("refreshJwt").GetString()!);
    }

    /// <summary>createAppPassword (by the name <paramref name="method"/>) with a full-access token; returns the app password.</summary>
    public async Task<string> CreateAppPasswordAsync(string accessJwt, string name, string method = "com.atproto.server.createAppPassword")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Url}/xrpc/{method}")
        {
            Content = JsonContent.Create(new { name }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessJwt);
        using var answer = await _http.SendAsync(request);
        answer.EnsureSuccessStatusCode();
        return Support.TestSecrets.Password((await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("password").GetString()!);
    }

    public Task TakedownAsync(string did, bool applied) =>
        AdminUpdateAsync(did, new JsonObject { ["takedown"] = new JsonObject { ["applied"] = applied, ["ref"] = "test" } });

    public Task DeactivateAsync(string did, bool applied) =>
        AdminUpdateAsync(did, new JsonObject { ["deactivated"] = new JsonObject { ["applied"] = applied } });

    /// <summary>Sends a raw refreshSession with <paramref name="refreshJwt"/>; returns the status and error name.</summary>
    public async Task<(int Status, string? Error, string? RefreshJwt)> RefreshDirectlyAsync(string refreshJwt)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Url}/xrpc/com.atproto.server.refreshSession");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", refreshJwt);
        using var answer = await _http.SendAsync(request);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        return ((int)answer.StatusCode,
            body.TryGetProperty("error", out var e) ? e.GetString() : null,
            body.TryGetProperty("refreshJwt", out var r) ? r.GetString() : null);
    }

    private async Task AdminUpdateAsync(string did, JsonObject change)
    {
        change["subject"] = new JsonObject { ["$type"] = "com.atproto.admin.defs#repoRef", ["did"] = did };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Url}/xrpc/com.atproto.admin.updateSubjectStatus")
        {
            Content = new StringContent(change.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = Support.BasicCredential.Of("admin", AdminPassword);
        using var answer = await _http.SendAsync(request);
        if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"updateSubjectStatus failed: {(int)answer.StatusCode}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The second reference PDS of scripts/test, started with PDS_RATE_LIMITS_ENABLED=true (PDS_LIMITED_URL).</summary>
public sealed class RateLimitedPdsServer() : RealPdsServer("PDS_LIMITED_URL", "PDS_LIMITED_ADMIN_PASSWORD");

[CollectionDefinition(Name)]
public sealed class RateLimitedPdsCollection : ICollectionFixture<RateLimitedPdsServer>
{
    public const string Name = "rate-limited PDS";
}

[CollectionDefinition(Name)]
public sealed class RealPdsCollection : ICollectionFixture<RealPdsServer>
{
    public const string Name = "real PDS";
}

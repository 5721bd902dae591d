using System.Net;
using System.Net.Http.Json;
using Supervisor.Actors.Tests.FakePds;

namespace Supervisor.Actors.Tests.Support;

/// <summary>A spec of the host run as a process, against an in-process fake PDS, with a data folder of its own.</summary>
public abstract class FakePdsHostSpec : IAsyncLifetime
{
    /// <summary>The host's data folder (its SQLite journal is <see cref="TestJournal.File"/>).</summary>
    protected TestJournal Folder { get; } = new();

    protected FakePdsServer Pds { get; private set; } = null!;

    public async Task InitializeAsync() => Pds = await FakePdsServer.StartAsync();

    /// <summary>A host started on <see cref="Folder"/>, with <paramref name="hocon"/> (SUPERVISOR_HOCON) when given.</summary>
    protected async Task<SupervisorProcess> StartHostAsync(string? hocon = null)
    {
        var host = new SupervisorProcess(Folder.Folder, hocon is null ? null : new Dictionary<string, string> { ["SUPERVISOR_HOCON"] = hocon });
        await host.StartAsync();
        return host;
    }

    /// <summary>A new account <paramref name="handle"/> of the fake PDS (password <c>pw-</c> and its handle), logged in at <paramref name="host"/>.</summary>
    protected async Task<FakeAccount> LoggedInAsync(SupervisorProcess host, string handle)
    {
        var account = Pds.CreateAccount(handle, "pw-" + handle);
        await LoginAsync(host, account);
        return account;
    }

    /// <summary>Logs <paramref name="account"/> of the fake PDS in at <paramref name="host"/> (POST /accounts), answered 201.</summary>
    protected async Task LoginAsync(SupervisorProcess host, FakeAccount account)
    {
        using var answer = await host.Http.PostAsJsonAsync("/accounts", new { identifier = account.Handle, password = account.Password, service = Pds.Url });
        Assert.True(answer.StatusCode == HttpStatusCode.Created, $"login answered {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
    }

    /// <summary>Waits until <paramref name="count"/> accounts rest and none runs (GET /status), up to 15 s.</summary>
    protected static async Task RestedAsync(SupervisorProcess host, int count = 1)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var status = await host.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/status");
            if (status.GetProperty("passivated").GetInt32() == count && status.GetProperty("running").GetInt32() == 0) return;
            Assert.True(DateTime.UtcNow < until, $"the accounts did not rest: {status}");
            await Task.Delay(200);
        }
    }

    /// <summary>A client of <paramref name="host"/> that sends <paramref name="bearer"/> (an account key or a key session's token).</summary>
    protected static HttpClient ClientWith(SupervisorProcess host, string bearer)
    {
        var client = new HttpClient { BaseAddress = host.Http.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        return client;
    }

    /// <summary>
    /// An account key for <paramref name="did"/> issued by the admin (registered for the secret scan), with the privileged
    /// methods it may reach (<paramref name="allow"/>): its id and the key.
    /// </summary>
    protected static async Task<(string Id, string Key)> IssueKeyAsync(SupervisorProcess host, string did, DateTimeOffset? expiresAt = null, string[]? allow = null)
    {
        using var answer = await host.Http.PostAsJsonAsync("/keys", new { account = did, expiresAt, allow });
        Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        var body = await answer.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var key = body.GetProperty("key").GetString()!;
        TestSecrets.Register("account-key", key);
        return (body.GetProperty("id").GetString()!, key);
    }

    /// <summary>A session of <paramref name="key"/> opened at the supervisor's <c>createSession</c>, as a client logs in with it.</summary>
    protected static async Task<(string Access, string Refresh)> OpenKeySessionAsync(SupervisorProcess host, string handle, string key)
    {
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = handle, password = key });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var session = await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return (session.GetProperty("accessJwt").GetString()!, session.GetProperty("refreshJwt").GetString()!);
    }

    /// <summary>The supervisor's <c>refreshSession</c> with <paramref name="refreshJwt"/> (a key session's) as the bearer, as a client refreshes.</summary>
    protected static async Task<HttpResponseMessage> RefreshKeySessionAsync(SupervisorProcess host, string refreshJwt)
    {
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/xrpc/com.atproto.server.refreshSession");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", refreshJwt);
        return await anonymous.SendAsync(request);
    }

    public async Task DisposeAsync()
    {
        await Pds.DisposeAsync();
        Folder.Dispose();
    }
}

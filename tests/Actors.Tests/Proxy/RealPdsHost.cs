using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>A host process with a data folder of its own, in front of the real PDS, and helpers to add accounts and keys.</summary>
public abstract class RealPdsHost(RealPdsServer pds) : IAsyncLifetime
{
    protected TestJournal Folder { get; } = new();

    protected RealPdsServer Pds => pds;

    protected SupervisorProcess Host { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Host = new SupervisorProcess(Folder.Folder, Folder.HostEnvironment()).VerifyingIdentitiesAtTheRealPds();
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Folder.Dispose();
    }

    /// <summary>A new account on the real PDS, logged in through the host.</summary>
    protected async Task<RealAccount> AddAccountAsync(string prefix)
    {
        var account = await pds.CreateAccountAsync(prefix);
        using var answer = await Host.Http.PostAsJsonAsync("/accounts", new { identifier = account.Handle, password = account.Password, service = pds.Url });
        Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        return account;
    }

    /// <summary>Issues an account key through the admin API; returns (id, key).</summary>
    protected async Task<(string Id, string Key)> IssueKeyAsync(string account, params string[] allow)
    {
        using var answer = await Host.Http.PostAsJsonAsync("/keys", new { account, name = "bot", allow });
        Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
    }

    /// <summary>A client of the host with <paramref name="bearer"/> (none when null).</summary>
    protected HttpClient ClientWith(string? bearer)
    {
        var client = new HttpClient { BaseAddress = Host.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (bearer is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        return client;
    }

    /// <summary>
    /// A real PNG padded with random bytes to <paramref name="length"/> (random bytes behind a bare PNG signature
    /// make the reference PDS's type sniffing fail with End-Of-Stream).
    /// </summary>
    protected static byte[] ImageBytes(int length) => Clients.TestPng.Make(64, 48, length, Random.Shared.Next());
}

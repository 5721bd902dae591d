using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The token key of the host process: generated owner-only, a wrong one stops the start, rotation keeps old records readable.</summary>
public sealed class TokenKeySpec : FakePdsHostSpec
{
    /// <summary>The README's key id, computed here on its own: the first 8 hex digits of the SHA-256 of the key's bytes.</summary>
    private static string KeyIdOf(string base64Key) => Convert.ToHexString(SHA256.HashData(Convert.FromBase64String(base64Key)))[..8].ToLowerInvariant();

    [Fact]
    public async Task A_generated_key_is_kept_owner_only_a_wrong_key_stops_the_host_and_a_rotated_key_reads_old_records()
    {
        var account = Pds.CreateAccount("key.test", "pw-key");
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        var keyFile = HostSettings.TokenKeyFile(Folder.Folder);
        Assert.True(File.Exists(keyFile));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var firstKey = File.ReadAllLines(keyFile)[0];
        await LoginAsync(host, account);
        Assert.Equal(0, await host.TerminateAsync());

        // Another key: the host says which key the records need and stops, before serving garbage.
        var otherKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        host.SetEnvironment("SUPERVISOR_KEY", otherKey);
        await StartOrExitAsync(host);
        Assert.Equal(1, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var firstKeyId = KeyIdOf(firstKey);
        Assert.Contains($"encrypted with key {firstKeyId}, which is not configured", host.Output);
        Assert.Contains("Supervisor stopped", host.Output);

        // Rotation: the new key writes, the old one still reads.
        host.SetEnvironment("SUPERVISOR_OLD_KEYS", firstKey);
        await host.StartAsync();
        var status = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
        Assert.Equal("Active", status.GetProperty("state").GetString());
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(0, await host.TerminateAsync());
        var rows = JournalRows.Read(Folder, AccountSessionActor.PersistenceIdFor(account.Did));
        var otherKeyId = KeyIdOf(otherKey);
        Assert.Contains(rows, r => JournalRows.SealedValues(r.Payload).Any(v => v.StartsWith($"enc:{firstKeyId}:", StringComparison.Ordinal)));
        Assert.Contains(rows, r => JournalRows.SealedValues(r.Payload).Any(v => v.StartsWith($"enc:{otherKeyId}:", StringComparison.Ordinal)));
        Assert.Empty(Secrets.JwtsIn(host.Output));
        Assert.DoesNotContain(firstKey, host.Output);
        Assert.DoesNotContain(otherKey, host.Output);
    }

    [Fact]
    public async Task A_key_put_first_in_the_key_file_takes_over_and_what_the_old_one_sealed_or_signed_stays_good()
    {
        var account = Pds.CreateAccount("rotated.test", "pw-rotated");
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        await LoginAsync(host, account);
        var (_, key) = await IssueKeyAsync(host, account.Did);
        var (access, _) = await OpenKeySessionAsync(host, account.Handle, key);
        Assert.Equal(0, await host.TerminateAsync());

        // The README's rotation: the new key on the first line of data/token-keys, the old one after it.
        var keyFile = HostSettings.TokenKeyFile(Folder.Folder);
        var oldKey = File.ReadAllLines(keyFile)[0];
        var newKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(keyFile, newKey + "\n" + oldKey + "\n");
        await host.StartAsync();
        Assert.Equal("Active", (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("state").GetString());
        using (var bearer = new HttpClient { BaseAddress = host.Http.BaseAddress })
        {
            bearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", access);
            using var answer = await bearer.GetAsync("/xrpc/com.atproto.server.getSession");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(0, await host.TerminateAsync());
        var rows = JournalRows.Read(Folder, AccountSessionActor.PersistenceIdFor(account.Did));
        Assert.Contains(rows, r => JournalRows.SealedValues(r.Payload).Any(v => v.StartsWith($"enc:{KeyIdOf(newKey)}:", StringComparison.Ordinal)));
    }

    /// <summary>Starts the host, which may exit before it answers /healthz.</summary>
    private static async Task StartOrExitAsync(SupervisorProcess host)
    {
        try
        {
            await host.StartAsync();
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("the supervisor exited", StringComparison.Ordinal))
        {
            // stopped during its start: what the caller checks next
        }
    }
}

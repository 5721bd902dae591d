using System.Diagnostics;
using System.Net.Http.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The operator status page, rendered by a real headless Chromium (Debian's, installed by scripts/test).</summary>
public sealed class StatusPageBrowserSpec : FakePdsHostSpec
{
    [Fact]
    public async Task The_status_page_shows_every_account_and_its_state_without_tokens_or_scripts()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        var alive = Pds.CreateAccount("alive.test", "pw-alive");
        var revoked = Pds.CreateAccount("revoked.test", "pw-revoked");
        foreach (var account in new[] { alive, revoked }) await LoginAsync(host, account);
        Pds.RevokeAllRefreshTokens(revoked.Did);
        (await host.Http.PostAsync($"/accounts/{revoked.Did}/refresh", null)).EnsureSuccessStatusCode();

        var dom = await DumpDomAsync($"http://operator:{host.OperatorPassword}@127.0.0.1:{host.Port}/");
        Assert.Contains("<h1>Session supervisor</h1>", dom);
        Assert.Contains("2 accounts", dom);
        Assert.Matches("alive\\.test</td><td>did:plc:[a-z0-9]+</td><td class=\"state Active\">Active", dom);
        Assert.Matches("revoked\\.test</td><td>did:plc:[a-z0-9]+</td><td class=\"state NeedsLogin\">NeedsLogin", dom);
        Assert.Contains("ExpiredToken: Token has been revoked", dom);
        Assert.DoesNotContain("<script", dom);
        Assert.Empty(Secrets.JwtsIn(dom));

        // A wrong token: the server answers 401 asking for Basic credentials, and the browser shows no page.
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{host.Port}/"))
        {
            wrong.Headers.Authorization = BasicCredential.Of("operator", "wrong-token");
            using var plain = new HttpClient();
            using var answer = await plain.SendAsync(wrong);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, answer.StatusCode);
            Assert.Contains(answer.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
            Assert.DoesNotContain("alive.test", await answer.Content.ReadAsStringAsync());
        }
        var refused = await DumpDomAsync($"http://operator:wrong-token@127.0.0.1:{host.Port}/");
        Assert.DoesNotContain("Session supervisor", refused);
    }

    private async Task<string> DumpDomAsync(string url)
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), "Debian's chromium is needed (scripts/test installs it)");
        var info = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(Folder.Folder, "chromium")}", "--dump-dom", url,
                 })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return await output;
    }
}

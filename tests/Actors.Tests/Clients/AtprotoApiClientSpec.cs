using System.Net;
using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// The real <c>@atproto/api</c> (tests/clients, installed by scripts/clients) drives an account through the host's
/// <c>/xrpc</c> with an account key: login, an image post, reads, the key as a bearer with atproto-proxy, refresh
/// and logout (<see cref="AgentFlowRun"/>). What reached the real PDS is read from the PDS directly.
/// </summary>
[Collection(RealPdsCollection.Name)]
public sealed class AtprotoApiClientSpec(AgentFlowRun run, ITestOutputHelper output) : IClassFixture<AgentFlowRun>, IDisposable
{
    private readonly HttpClient _pds = new() { BaseAddress = new Uri(run.Pds.Url), Timeout = TimeSpan.FromSeconds(30) };

    private JsonElement Result => run.Result;

    private string Did => Result.GetProperty("did").GetString()!;

    private string Text(params string[] path)
    {
        var e = Result;
        foreach (var p in path) e = e.GetProperty(p);
        return e.ValueKind == JsonValueKind.Null ? null! : e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
    }

    [Fact]
    public async Task An_image_posted_with_an_account_key_lands_on_the_PDS_byte_for_byte()
    {
        var uri = Text("postUri");
        Assert.StartsWith($"at://{run.Account.Did}/app.bsky.feed.post/", uri);
        var rkey = uri[(uri.LastIndexOf('/') + 1)..];
        using var record = await _pds.GetAsync(
            $"/xrpc/com.atproto.repo.getRecord?repo={Uri.EscapeDataString(run.Account.Did)}&collection=app.bsky.feed.post&rkey={rkey}");
        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        var value = JsonDocument.Parse(await record.Content.ReadAsStringAsync()).RootElement.GetProperty("value");
        Assert.Equal(Text("postText"), value.GetProperty("text").GetString());
        var embed = value.GetProperty("embed");
        Assert.Equal("app.bsky.embed.images", embed.GetProperty("$type").GetString());
        var image = embed.GetProperty("images")[0].GetProperty("image");
        Assert.Equal(Text("blobCid"), image.GetProperty("ref").GetProperty("$link").GetString());
        Assert.Equal("image/png", image.GetProperty("mimeType").GetString());
        Assert.Equal(run.FileBytes.Length, image.GetProperty("size").GetInt32());

        using var blob = await _pds.GetAsync($"/xrpc/com.atproto.sync.getBlob?did={Uri.EscapeDataString(run.Account.Did)}&cid={Text("blobCid")}");
        Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
        var stored = await blob.Content.ReadAsByteArrayAsync();
        output.WriteLine($"file {run.FileBytes.Length} bytes, stored on the PDS {stored.Length} bytes, blob {Text("blobCid")}");
        Assert.Equal(run.FileBytes.Length, stored.Length);
        Assert.True(stored.AsSpan().SequenceEqual(run.FileBytes), "the blob on the PDS differs from the file the client uploaded");
    }

    [Fact]
    public void The_client_reads_the_post_and_the_image_back_through_the_supervisor_unchanged()
    {
        Assert.Equal(Text("postCid"), Text("recordCid"));
        Assert.Equal(Text("postText"), Text("recordText"));
        Assert.Equal(Text("blobCid"), Text("recordBlobCid"));
        Assert.StartsWith("image/png", Text("blobContentType"));
        var read = Convert.FromBase64String(Text("blobReadBase64"));
        Assert.Equal(run.FileBytes.Length, read.Length);
        Assert.True(read.AsSpan().SequenceEqual(run.FileBytes), "the blob the client read through the supervisor differs from the file");
    }

    [Fact]
    public async Task Blueskys_video_recipe_gets_a_service_token_the_PDS_takes_for_an_upload()
    {
        // The client named the supervisor (its dispatch URL); the PDS made the token for its own service DID, and took
        // it when the upload came as the video service makes it: straight to the PDS, the same bytes, the same blob.
        Assert.Equal($"did:web:127.0.0.1:{run.Host.Port}", Text("serviceAuth", "askedAud"));
        using var described = await _pds.GetAsync("/xrpc/com.atproto.server.describeServer");
        var serviceDid = JsonDocument.Parse(await described.Content.ReadAsStringAsync()).RootElement.GetProperty("did").GetString();
        Assert.Equal(serviceDid, Text("serviceAuth", "aud"));
        Assert.Equal(run.Account.Did, Text("serviceAuth", "iss"));
        Assert.Equal("com.atproto.repo.uploadBlob", Text("serviceAuth", "lxm"));
        Assert.True(Text("serviceAuth", "uploadStatus") == "200", $"the PDS refused the service token's upload: {Text("serviceAuth", "uploadError")}");
        Assert.Equal(Text("blobCid"), Text("serviceAuth", "uploadBlobCid"));
    }

    [Fact]
    public void The_agents_session_has_the_accounts_email_as_its_PDS_holds_it()
    {
        Assert.Equal(run.Account.Email, Text("sessionEmail"));
        Assert.Equal(JsonValueKind.False, Result.GetProperty("sessionEmailConfirmed").ValueKind);
    }

    [Fact]
    public void The_agent_keeps_the_supervisor_as_its_service_and_never_calls_the_PDS_itself()
    {
        var root = run.SupervisorUrl + "/";
        Assert.DoesNotContain("didDoc", Result.GetProperty("loginKeys").EnumerateArray().Select(k => k.GetString()));
        foreach (var moment in new[] { "afterLogin", "afterPost", "afterRefresh" })
        {
            Assert.Equal(root, Text(moment, "serviceUrl"));
            Assert.Null(Text(moment, "pdsUrl"));
            Assert.Equal(root, Text(moment, "dispatchUrl"));
        }
        Assert.Equal(new[] { run.SupervisorUrl }, Result.GetProperty("requestOrigins").EnumerateArray().Select(o => o.GetString()!));
        var calls = Result.GetProperty("calls").EnumerateArray().Select(c => c.GetProperty("nsid").GetString()).ToHashSet();
        foreach (var nsid in new[] { "com.atproto.server.createSession", "com.atproto.repo.uploadBlob", "com.atproto.repo.createRecord",
                     "com.atproto.sync.getBlob", "com.atproto.server.refreshSession", "com.atproto.server.deleteSession" })
            Assert.Contains(nsid, calls);
    }

    [Fact]
    public async Task The_atproto_proxy_header_of_a_key_bearer_reaches_the_PDS()
    {
        Assert.Equal(run.Account.Did, Text("keyBearer", "describeRepoDid"));
        // Without the header the PDS has no service for app.bsky.*; with one it resolves the proxy target:
        // a DID document without #atproto_labeler, or did:web:labeler.test, which does not resolve (its 500).
        AssertError("keyBearer.withoutProxy", 400, "InvalidRequest", "No service configured for app.bsky.actor.getProfile");
        AssertError("keyBearer.ownDidProxy", 400, "InvalidRequest", "could not resolve proxy did service url");
        AssertError("keyBearer.labelerProxy", 500, "InternalServerError", "Internal Server Error");
        if (Environment.GetEnvironmentVariable("PDS_LOG_FILE") is not { Length: > 0 } log) return;
        await using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var text = await new StreamReader(stream).ReadToEndAsync();
        var actor = "actor=" + Uri.EscapeDataString(run.Account.Did);
        Assert.True(text.Split('\n').Any(line => line.Contains(actor) && line.Contains("\"atproto-proxy\":\"did:web:labeler.test#atproto_labeler\"")),
            $"the PDS's log ({log}) shows no request of this account with the atproto-proxy header");
    }

    [Fact]
    public void A_refreshed_key_session_keeps_working_and_logging_out_ends_it()
    {
        Assert.Equal("true", Text("refresh", "refreshChanged"));
        Assert.Equal(run.Account.Did, Text("refresh", "getSessionDid"));
        Assert.Equal(run.Account.Did, Text("refresh", "describeRepoDid"));
        Assert.Equal("200", Text("logout", "deleteSessionStatus"));
        Assert.Equal("false", Text("logout", "agentHasSession"));
        AssertError("logout.lastRefreshToken", 400, "ExpiredToken", "Token has been revoked");
        AssertError("logout.firstRefreshToken", 400, "ExpiredToken", "Token has been revoked");
        // Stricter than the PDS, whose access tokens outlive deleteSession: the supervisor ends the whole key session.
        AssertError("logout.lastAccessToken", 400, "ExpiredToken", "Token has been revoked");
    }

    [Fact]
    public void Neither_the_key_nor_a_token_appears_in_the_client_or_host_output()
    {
        var client = run.Stdout + run.Stderr;
        Assert.False(client.Contains(run.Key, StringComparison.Ordinal), "the account key appears in the client's output");
        Assert.Empty(Secrets.JwtsIn(client));
        var host = run.Host.Output + ReadShared(run.Host.LogFile);
        Assert.False(host.Contains(run.Key, StringComparison.Ordinal), "the account key appears in the host's output or log");
        Assert.Empty(Secrets.JwtsIn(host));
    }

    private void AssertError(string path, int status, string error, string message)
    {
        var e = Result;
        foreach (var p in path.Split('.')) e = e.GetProperty(p);
        Assert.Equal((status, error, message), (e.GetProperty("status").GetInt32(), e.GetProperty("error").GetString(), e.GetProperty("message").GetString()));
    }

    public void Dispose() => _pds.Dispose();

    private static string ReadShared(string path)
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>Requests pass through the supervisor to the real PDS as bytes, both ways, with their XRPC headers.</summary>
[Collection(RealPdsCollection.Name)]
public sealed class PassThroughSpec(RealPdsServer pds) : RealPdsHost(pds)
{
    private static readonly HttpClient Direct = new() { Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task An_image_post_passes_byte_for_byte_and_getBlob_answers_the_same_bytes_with_their_content_type()
    {
        var bob = await AddAccountAsync("img");
        var image = ImageBytes(900_000);
        using var upload = new ByteArrayContent(image);
        upload.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var uploaded = await Host.Http.PostAsync($"/accounts/{bob.Did}/xrpc/com.atproto.repo.uploadBlob", upload);
        Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
        var blob = JsonNode.Parse(await uploaded.Content.ReadAsStringAsync())!["blob"]!;
        Assert.Equal(900_000, blob["size"]!.GetValue<int>());
        Assert.Equal("image/png", blob["mimeType"]!.GetValue<string>());

        var post = new JsonObject
        {
            ["repo"] = bob.Did, ["collection"] = "app.bsky.feed.post",
            ["record"] = new JsonObject
            {
                ["$type"] = "app.bsky.feed.post", ["text"] = "an image", ["createdAt"] = "2026-12-02T00:00:00Z",
                ["embed"] = new JsonObject { ["$type"] = "app.bsky.embed.images", ["images"] = new JsonArray(new JsonObject { ["alt"] = "noise", ["image"] = blob.DeepClone() }) },
            },
        };
        using var created = await Host.Http.PostAsync($"/accounts/{bob.Did}/xrpc/com.atproto.repo.createRecord",
            new StringContent(post.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);

        var cid = blob["ref"]!["$link"]!.GetValue<string>();
        using var through = await Host.Http.GetAsync($"/accounts/{bob.Did}/xrpc/com.atproto.sync.getBlob?did={bob.Did}&cid={cid}");
        Assert.Equal(HttpStatusCode.OK, through.StatusCode);
        Assert.Equal("image/png", through.Content.Headers.ContentType?.MediaType);
        Assert.Equal(image, await through.Content.ReadAsByteArrayAsync());
        var direct = await Direct.GetByteArrayAsync($"{Pds.Url}/xrpc/com.atproto.sync.getBlob?did={bob.Did}&cid={cid}");
        Assert.Equal(image, direct);
    }

    [Fact]
    public async Task A_4_MiB_blob_passes_and_bodies_past_their_limit_get_a_413_that_names_it()
    {
        var carol = await AddAccountAsync("big");
        var image = ImageBytes(4 * 1024 * 1024);
        using (var uploaded = await Host.Http.PostAsync($"/accounts/{carol.Did}/xrpc/com.atproto.repo.uploadBlob", Content(image, "application/octet-stream")))
        {
            Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
            Assert.Equal(image.Length, JsonNode.Parse(await uploaded.Content.ReadAsStringAsync())!["blob"]!["size"]!.GetValue<int>());
        }
        // Refused on its Content-Length, before the body is read: a client that asks first (Expect: 100-continue) sends none of it.
        using var upload = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{carol.Did}/xrpc/com.atproto.repo.uploadBlob")
        {
            Content = Content(ImageBytes(5 * 1024 * 1024 + 1), "image/png"),
        };
        upload.Headers.ExpectContinue = true;
        using (var tooBig = await Host.Http.SendAsync(upload))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
            Assert.Contains("5242880", await tooBig.Content.ReadAsStringAsync());
        }
        var json = Encoding.UTF8.GetBytes($$$"""{"repo":"{{{carol.Did}}}","collection":"app.bsky.feed.post","record":{"text":"{{{new string('a', 1024 * 1024)}}}"}}""");
        using var record = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{carol.Did}/xrpc/com.atproto.repo.createRecord") { Content = Content(json, "application/json") };
        record.Headers.ExpectContinue = true;
        using (var tooLong = await Host.Http.SendAsync(record))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLong.StatusCode);
            var body = await tooLong.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("PayloadTooLarge", body.GetProperty("error").GetString());
            Assert.Contains("1048576", body.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task A_CAR_file_read_through_the_supervisor_equals_the_direct_answer()
    {
        var dave = await AddAccountAsync("car");
        for (var i = 0; i < 20; i++)
        {
            var record = $$$"""{"repo":"{{{dave.Did}}}","collection":"com.example.note","record":{"$type":"com.example.note","text":"note {{{i}}} {{{new string('x', 2000)}}}"}}""";
            using var created = await Host.Http.PostAsync($"/accounts/{dave.Did}/xrpc/com.atproto.repo.createRecord", new StringContent(record, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }
        using var through = await Host.Http.GetAsync($"/accounts/{dave.Did}/xrpc/com.atproto.sync.getRepo?did={dave.Did}");
        Assert.Equal(HttpStatusCode.OK, through.StatusCode);
        Assert.Equal("application/vnd.ipld.car", through.Content.Headers.ContentType?.MediaType);
        var car = await through.Content.ReadAsByteArrayAsync();
        Assert.True(car.Length > 40_000, $"the CAR file holds every record ({car.Length} bytes)");
        Assert.Equal(await Direct.GetByteArrayAsync($"{Pds.Url}/xrpc/com.atproto.sync.getRepo?did={dave.Did}"), car);
    }

    [Fact]
    public async Task The_atproto_proxy_header_reaches_the_PDS_and_the_callers_authorization_never_does()
    {
        var erin = await AddAccountAsync("prx");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{erin.Did}/xrpc/app.bsky.actor.getProfile?actor={erin.Did}");
        request.Headers.TryAddWithoutValidation("atproto-proxy", "not-a-did");
        request.Headers.TryAddWithoutValidation("atproto-accept-labelers", "did:plc:labeler");
        using var answer = await Host.Http.SendAsync(request);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        // The PDS's own answer to a malformed proxy header: it saw the header.
        Assert.Equal((HttpStatusCode.BadRequest, "InvalidRequest"), (answer.StatusCode, body.GetProperty("error").GetString()));
        Assert.Contains("proxy header", body.GetProperty("message").GetString());

        // Without the header the PDS has no app view to send it to: another answer, so the header made the difference.
        using var plain = await Host.Http.GetAsync($"/accounts/{erin.Did}/xrpc/app.bsky.actor.getProfile?actor={erin.Did}");
        Assert.DoesNotContain("proxy header", await plain.Content.ReadAsStringAsync());

        // The admin token went to the supervisor, never to the PDS: the PDS saw the account's own token (a write succeeds as the account).
        var record = $$$"""{"repo":"{{{erin.Did}}}","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2026-12-02T00:00:00Z"}}""";
        using var created = await Host.Http.PostAsync($"/accounts/{erin.Did}/xrpc/com.atproto.repo.createRecord", new StringContent(record, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
    }

    [Fact]
    public async Task Answers_keep_the_PDS_headers_on_the_allow_list_and_carry_nosniff_and_a_sandboxing_policy()
    {
        var fay = await AddAccountAsync("hdr");
        var record = $$$"""{"repo":"{{{fay.Did}}}","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2026-12-02T00:00:00Z"}}""";
        using var created = await Host.Http.PostAsync($"/accounts/{fay.Did}/xrpc/com.atproto.repo.createRecord", new StringContent(record, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        using var read = await Host.Http.GetAsync($"/accounts/{fay.Did}/xrpc/com.atproto.repo.listRecords?repo={fay.Did}&collection=app.bsky.feed.post");
        Assert.Equal("nosniff", string.Join("", read.Headers.GetValues("X-Content-Type-Options")));
        Assert.Contains("sandbox", string.Join("", read.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains("default-src 'none'", string.Join("", read.Headers.GetValues("Content-Security-Policy")));
        Assert.False(read.Headers.Contains("Set-Cookie"));
        // The PDS's caching header passed through (it sends one on every answer); the export of a session is never cached.
        Assert.NotNull(read.Headers.CacheControl);
        using var export = await Host.Http.GetAsync($"/accounts/{fay.Did}/session");
        Assert.True(export.Headers.CacheControl?.NoStore, "a session export is never cached");
    }

    private static ByteArrayContent Content(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }
}

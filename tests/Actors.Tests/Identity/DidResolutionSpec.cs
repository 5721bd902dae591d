using Supervisor.Actors.Identity;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>DID documents read from the fake PDS acting as PLC directory and did:web host.</summary>
public sealed class DidResolutionSpec : IAsyncLifetime
{
    private FakePdsServer _pds = null!;
    private IdentityResolver _resolver = null!;

    public async Task InitializeAsync()
    {
        _pds = await FakePdsServer.StartAsync();
        _resolver = Resolver(_pds.Url);
    }

    public async Task DisposeAsync() => await _pds.DisposeAsync();

    private static IdentityResolver Resolver(string plc, TimeSpan? timeout = null, TimeSpan? cacheTtl = null, TimeProvider? time = null) =>
        new(IdentityTestClients.Direct(), new IdentitySettings
        {
            PlcDirectory = plc,
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
            CacheTtl = cacheTtl ?? TimeSpan.FromMinutes(5),
        }, time: time);

    [Fact]
    public async Task A_did_plc_document_is_read_from_the_plc_directory_with_its_pds_and_handle()
    {
        var alice = _pds.CreateAccount("Alice.test", "pw-identity-spec");

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.True(doc.Succeeded, doc.Reason);
        Assert.Equal(alice.Did, doc.Did);
        Assert.Equal(_pds.Url.TrimEnd('/'), doc.PdsEndpoint);
        Assert.Equal(["alice.test"], doc.Handles);
        Assert.Equal(1, _pds.CallCount(FakePdsServer.DidDocumentCall));
    }

    [Fact]
    public async Task The_pds_endpoint_is_the_normalised_atproto_pds_service_of_the_document()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.PdsEndpointInDidDoc = "https://pds.example.com/";

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal("https://pds.example.com", doc.PdsEndpoint);
    }

    [Fact]
    public async Task The_handles_are_the_valid_at_entries_of_alsoKnownAs_normalised_in_order()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.SetAlsoKnownAs(alice.Did, "Second.Test", "not a handle", "alice.local", "first.test", "second.test");

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(["second.test", "first.test"], doc.Handles);
        Assert.True(doc.Claims("FIRST.test"));
        Assert.False(doc.Claims("alice.test"));
    }

    [Fact]
    public async Task A_document_whose_id_is_another_did_is_refused()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var mallory = _pds.CreateAccount("mallory.test", "pw-identity-spec");
        _pds.SetDocumentId(mallory.Did, alice.Did);

        var doc = await _resolver.ResolveDidAsync(mallory.Did);

        Assert.Equal(IdentityError.InvalidAnswer, doc.Error);
        Assert.Contains("id differs", doc.Reason);
        Assert.Null(doc.PdsEndpoint);
        Assert.Empty(doc.Handles);
    }

    [Fact]
    public async Task A_did_the_directory_does_not_have_is_not_found()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.HideDidDocument(alice.Did);

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(IdentityError.NotFound, doc.Error);
        Assert.False(doc.IsTransient);
        Assert.Contains("404", doc.Reason);
    }

    [Fact]
    public async Task An_html_page_instead_of_a_document_is_a_clear_failure()
    {
        await using var portal = new MisbehavingServer { Mode = Misbehaviour.Html };

        var doc = await Resolver(portal.Url).ResolveDidAsync("did:plc:abcdefghijklmnopqrstuvwx");

        Assert.Equal(IdentityError.InvalidAnswer, doc.Error);
        Assert.Contains("HTML", doc.Reason);
    }

    [Fact]
    public async Task An_answer_larger_than_64_KiB_is_refused_without_reading_it_all()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.SetAlsoKnownAs(alice.Did, Enumerable.Range(0, 3000).Select(i => $"handle-number-{i}.test").ToArray());

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(IdentityError.InvalidAnswer, doc.Error);
        Assert.Contains("larger than 64 KiB", doc.Reason);
    }

    [Fact]
    public async Task A_hanging_directory_ends_as_a_transient_timeout()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.FailNext(FakePdsServer.DidDocumentCall, FakeFailure.Hang);

        var doc = await Resolver(_pds.Url, timeout: TimeSpan.FromSeconds(1)).ResolveDidAsync(alice.Did);

        Assert.Equal(IdentityError.Timeout, doc.Error);
        Assert.True(doc.IsTransient);
        Assert.Contains("within 1 s", doc.Reason);
    }

    [Theory]
    [InlineData(FakeFailure.ServerError500)]
    [InlineData(FakeFailure.Html502)]
    [InlineData(FakeFailure.RateLimited)]
    [InlineData(FakeFailure.DropConnection)]
    public async Task An_unavailable_directory_is_a_transient_failure(FakeFailure failure)
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.FailNext(FakePdsServer.DidDocumentCall, failure);

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(IdentityError.Unavailable, doc.Error);
        Assert.True(doc.IsTransient);
    }

    [Fact]
    public async Task A_truncated_document_is_a_clear_failure()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.FailNext(FakePdsServer.DidDocumentCall, FakeFailure.TruncatedJson);

        var doc = await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(IdentityError.InvalidAnswer, doc.Error);
        Assert.Contains("not JSON", doc.Reason);
    }

    [Fact]
    public async Task A_did_web_document_is_read_from_the_hosts_well_known_did_json()
    {
        var web = _pds.CreateWebAccount("web.test", "pw-identity-spec");
        var resolver = Resolver("http://127.0.0.1:9"); // the PLC directory must not be asked

        var doc = await resolver.ResolveDidAsync(web.Did);

        Assert.True(doc.Succeeded, doc.Reason);
        Assert.Equal(_pds.Url.TrimEnd('/'), doc.PdsEndpoint);
        Assert.Equal(["web.test"], doc.Handles);
    }

    [Fact]
    public async Task A_did_web_document_of_a_host_that_is_not_loopback_is_read_over_https()
    {
        var requests = new List<Uri>();
        var document = """
            {"id": "did:web:example.com", "alsoKnownAs": ["at://example.com"],
             "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.example.com"}]}
            """;
        var resolver = new IdentityResolver(IdentityTestClients.Recording(requests, _ => document), new IdentitySettings { PlcDirectory = "http://127.0.0.1:9" });

        var doc = await resolver.ResolveDidAsync("did:web:example.com");

        Assert.True(doc.Succeeded, doc.Reason);
        Assert.Equal("https://pds.example.com", doc.PdsEndpoint);
        Assert.Equal("https://example.com/.well-known/did.json", Assert.Single(requests).AbsoluteUri);
    }

    [Theory]
    [InlineData("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme")]
    [InlineData("did:plc:NOT-BASE32")]
    [InlineData("did:web:example.com:user:alice")]
    public async Task An_invalid_or_unsupported_did_fails_without_asking_anyone(string did)
    {
        var doc = await _resolver.ResolveDidAsync(did);

        Assert.Equal(IdentityError.InvalidSyntax, doc.Error);
        Assert.Equal(0, _pds.CallCount(FakePdsServer.DidDocumentCall));
    }

    [Fact]
    public async Task A_document_read_is_reused_for_the_cache_ttl_and_read_again_after_it()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var time = new ManualTime();
        var resolver = Resolver(_pds.Url, cacheTtl: TimeSpan.FromMinutes(5), time: time);

        await resolver.ResolveDidAsync(alice.Did);
        time.Advance(TimeSpan.FromMinutes(4));
        await resolver.ResolveDidAsync(alice.Did);
        Assert.Equal(1, _pds.CallCount(FakePdsServer.DidDocumentCall));

        time.Advance(TimeSpan.FromMinutes(2));
        await resolver.ResolveDidAsync(alice.Did);
        Assert.Equal(2, _pds.CallCount(FakePdsServer.DidDocumentCall));
    }

    [Fact]
    public async Task A_failed_resolution_is_not_cached()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.FailNext(FakePdsServer.DidDocumentCall, FakeFailure.ServerError500);

        Assert.False((await _resolver.ResolveDidAsync(alice.Did)).Succeeded);
        Assert.True((await _resolver.ResolveDidAsync(alice.Did)).Succeeded);
    }

    [Fact]
    public async Task A_zero_cache_ttl_reads_the_document_every_time()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var resolver = Resolver(_pds.Url, cacheTtl: TimeSpan.Zero);

        await resolver.ResolveDidAsync(alice.Did);
        await resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(2, _pds.CallCount(FakePdsServer.DidDocumentCall));
    }

    [Fact]
    public async Task A_forgotten_did_is_read_again()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        await _resolver.ResolveDidAsync(alice.Did);

        _resolver.Forget(alice.Did);
        await _resolver.ResolveDidAsync(alice.Did);

        Assert.Equal(2, _pds.CallCount(FakePdsServer.DidDocumentCall));
    }
}

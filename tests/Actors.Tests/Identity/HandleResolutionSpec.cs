using Supervisor.Actors.Identity;
using Supervisor.Actors.Tests.FakePds;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>Handles resolved through a resolveHandle service, DNS TXT records and /.well-known/atproto-did.</summary>
public sealed class HandleResolutionSpec : IAsyncLifetime
{
    private const string ResolveHandle = "com.atproto.identity.resolveHandle";
    private readonly FakeDnsServer _dns = new();
    private FakePdsServer _pds = null!;

    public async Task InitializeAsync() => _pds = await FakePdsServer.StartAsync();

    public async Task DisposeAsync()
    {
        _dns.Dispose();
        await _pds.DisposeAsync();
    }

    /// <summary>A resolver asking the fake's resolveHandle.</summary>
    private IdentityResolver WithResolver(TimeSpan? cacheTtl = null) =>
        new(IdentityTestClients.Direct(), new IdentitySettings
        {
            PlcDirectory = _pds.Url,
            HandleResolver = _pds.Url,
            CacheTtl = cacheTtl ?? TimeSpan.FromMinutes(5),
        });

    /// <summary>A resolver asking the fake DNS server, then http://HANDLE/.well-known/atproto-did routed to the fake PDS.</summary>
    private IdentityResolver OnTheirOwn(TimeSpan? timeout = null) =>
        new(IdentityTestClients.RoutedTo(_pds.Url), new IdentitySettings
        {
            PlcDirectory = _pds.Url,
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
        }, [_dns.EndPoint])
        {
            HandleWellKnownUrl = handle => $"http://{handle}/.well-known/atproto-did",
        };

    [Fact]
    public async Task With_a_handle_resolver_the_handle_is_resolved_by_its_resolveHandle()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");

        var resolved = await WithResolver().ResolveHandleAsync("Alice.Test");

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal(alice.Did, resolved.Did);
        Assert.Equal("alice.test", resolved.Handle);
        Assert.Equal("resolver", resolved.Method);
        Assert.Equal(0, _dns.Queries);
    }

    [Fact]
    public async Task A_handle_the_resolver_cannot_resolve_is_not_found()
    {
        var resolved = await WithResolver().ResolveHandleAsync("nobody.test");

        Assert.Equal(IdentityError.NotFound, resolved.Error);
        Assert.Contains("400 InvalidRequest", resolved.Reason);
        Assert.Null(resolved.Did);
    }

    [Fact]
    public async Task A_resolver_answering_something_that_is_not_a_did_is_a_clear_failure()
    {
        _pds.ResolveHandleTo("alice.test", "did:evil:<script>");

        var resolved = await WithResolver().ResolveHandleAsync("alice.test");

        Assert.Equal(IdentityError.InvalidAnswer, resolved.Error);
        Assert.Contains("without a valid DID", resolved.Reason);
    }

    [Theory]
    [InlineData("alice.test\n")]
    [InlineData("\u001b[2Jalice.test")]
    [InlineData("alice.local")]
    [InlineData("älice.test")]
    public async Task An_invalid_handle_fails_at_once_without_asking_anyone(string handle)
    {
        var resolved = await WithResolver().ResolveHandleAsync(handle);

        Assert.Equal(IdentityError.InvalidSyntax, resolved.Error);
        Assert.Equal(0, _pds.CallCount(ResolveHandle));
    }

    [Fact]
    public async Task A_dns_txt_record_resolves_the_handle()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _dns.SetTxt("_atproto.alice.test", "did=" + alice.Did);

        var resolved = await OnTheirOwn().ResolveHandleAsync("alice.test");

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal(alice.Did, resolved.Did);
        Assert.Equal("dns", resolved.Method);
        Assert.Equal(0, _pds.CallCount(FakePdsServer.WellKnownDidCall));
    }

    [Fact]
    public async Task Without_a_txt_record_the_handles_well_known_atproto_did_is_asked()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");

        var resolved = await OnTheirOwn().ResolveHandleAsync("alice.test");

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal(alice.Did, resolved.Did);
        Assert.Equal("https", resolved.Method);
        Assert.Equal(1, _dns.Queries);
    }

    [Fact]
    public async Task Without_a_txt_record_the_well_known_atproto_did_is_asked_over_https()
    {
        const string did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
        var requests = new List<Uri>();
        var resolver = new IdentityResolver(IdentityTestClients.Recording(requests, _ => did + "\n"), new IdentitySettings
        {
            PlcDirectory = _pds.Url,
        }, [_dns.EndPoint]); // the URL of the production resolver, not the specs' http override

        var resolved = await resolver.ResolveHandleAsync("Alice.Example.com");

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal((did, "https"), (resolved.Did, resolved.Method));
        Assert.Equal(1, _dns.Queries);
        Assert.Equal("https://alice.example.com/.well-known/atproto-did", Assert.Single(requests).AbsoluteUri);
    }

    [Fact]
    public async Task Conflicting_txt_records_are_refused_without_asking_the_web_server()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var bob = _pds.CreateAccount("bob.test", "pw-identity-spec");
        _dns.SetTxt("_atproto.alice.test", "did=" + alice.Did, "did=" + bob.Did);

        var resolved = await OnTheirOwn().ResolveHandleAsync("alice.test");

        Assert.Equal(IdentityError.InvalidAnswer, resolved.Error);
        Assert.Contains("conflicting", resolved.Reason);
        Assert.Equal(0, _pds.CallCount(FakePdsServer.WellKnownDidCall));
    }

    [Fact]
    public async Task A_malformed_dns_answer_is_a_failure_with_its_reason_never_an_exception()
    {
        _dns.Mode = DnsMode.Malformed;

        var resolved = await OnTheirOwn().ResolveHandleAsync("nobody.test");

        Assert.False(resolved.Succeeded, resolved.Reason);
        Assert.Contains("DNS: malformed DNS answer", resolved.Reason);
        Assert.Contains("HTTPS:", resolved.Reason);
    }

    [Fact]
    public async Task A_silent_name_server_times_out_and_the_web_server_still_answers()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _dns.Mode = DnsMode.Silent;

        var resolved = await OnTheirOwn(timeout: TimeSpan.FromSeconds(3)).ResolveHandleAsync("alice.test");

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal("https", resolved.Method);
    }

    [Fact]
    public async Task When_neither_dns_nor_the_web_server_know_the_handle_it_is_not_found_and_both_reasons_are_given()
    {
        var resolved = await OnTheirOwn().ResolveHandleAsync("nobody.test");

        Assert.Equal(IdentityError.NotFound, resolved.Error);
        Assert.Equal("DNS: _atproto.nobody.test does not exist; HTTPS: nobody.test answered 404: not found", resolved.Reason);
    }

    [Fact]
    public async Task A_transient_failure_on_either_side_makes_the_failure_transient()
    {
        _dns.Mode = DnsMode.Silent;

        var resolved = await OnTheirOwn(timeout: TimeSpan.FromSeconds(1)).ResolveHandleAsync("nobody.test");

        Assert.Equal(IdentityError.Timeout, resolved.Error);
        Assert.True(resolved.IsTransient);
    }

    [Fact]
    public async Task A_well_known_answer_that_is_not_a_did_is_refused()
    {
        _pds.ResolveHandleTo("alice.test", "<html>hello</html>");

        var resolved = await OnTheirOwn().ResolveHandleAsync("alice.test");

        Assert.Equal(IdentityError.InvalidAnswer, resolved.Error);
        Assert.Contains("does not hold a valid DID", resolved.Reason);
    }

    [Fact]
    public async Task A_resolved_handle_is_reused_and_a_failed_one_asked_again()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var resolver = WithResolver();
        _pds.FailNext(ResolveHandle, FakeFailure.ServerError500);

        Assert.Equal(IdentityError.Unavailable, (await resolver.ResolveHandleAsync("alice.test")).Error);
        Assert.True((await resolver.ResolveHandleAsync("alice.test")).Succeeded);
        Assert.True((await resolver.ResolveHandleAsync("ALICE.test")).Succeeded);

        Assert.Equal(2, _pds.CallCount(ResolveHandle));
    }
}

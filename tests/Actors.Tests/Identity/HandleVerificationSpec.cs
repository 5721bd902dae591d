using Supervisor.Actors.Identity;
using Supervisor.Actors.Tests.FakePds;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>A handle belongs to a DID only when the DID document claims it and the handle resolves back to the DID.</summary>
public sealed class HandleVerificationSpec : IAsyncLifetime
{
    private FakePdsServer _pds = null!;
    private IdentityResolver _resolver = null!;

    public async Task InitializeAsync()
    {
        _pds = await FakePdsServer.StartAsync();
        _resolver = new IdentityResolver(IdentityTestClients.Direct(), new IdentitySettings { PlcDirectory = _pds.Url, HandleResolver = _pds.Url });
    }

    public async Task DisposeAsync() => await _pds.DisposeAsync();

    [Fact]
    public async Task A_handle_the_document_claims_and_that_resolves_to_the_did_is_verified()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");

        var verification = await _resolver.VerifyHandleAsync(alice.Did, "Alice.Test");

        Assert.True(verification.Verified, verification.Reason);
        Assert.Equal(HandleCheck.None, verification.FailedCheck);
        Assert.Equal("alice.test", verification.Handle);
        Assert.Equal(_pds.Url.TrimEnd('/'), verification.Document?.PdsEndpoint);
    }

    [Fact]
    public async Task A_handle_missing_from_alsoKnownAs_is_not_verified()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.SetAlsoKnownAs(alice.Did, "other.test");

        var verification = await _resolver.VerifyHandleAsync(alice.Did, "alice.test");

        Assert.False(verification.Verified);
        Assert.Equal(HandleCheck.AlsoKnownAs, verification.FailedCheck);
        Assert.Equal(IdentityError.Mismatch, verification.Error);
        Assert.Contains("does not list at://alice.test", verification.Reason);
    }

    [Fact]
    public async Task A_handle_that_resolves_to_another_did_is_not_verified_even_when_the_document_claims_it()
    {
        // A PDS saying "mallory is alice.test": mallory's document lists the handle, but the handle is alice's.
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var mallory = _pds.CreateAccount("mallory.test", "pw-identity-spec");
        _pds.SetAlsoKnownAs(mallory.Did, "alice.test");

        var verification = await _resolver.VerifyHandleAsync(mallory.Did, "alice.test");

        Assert.False(verification.Verified);
        Assert.Equal(HandleCheck.SameDid, verification.FailedCheck);
        Assert.Contains(alice.Did, verification.Reason);
    }

    [Fact]
    public async Task A_handle_the_document_claims_but_that_resolves_nowhere_is_not_verified()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.SetAlsoKnownAs(alice.Did, "elsewhere.test");

        var verification = await _resolver.VerifyHandleAsync(alice.Did, "elsewhere.test");

        Assert.Equal(HandleCheck.HandleResolution, verification.FailedCheck);
        Assert.Equal(IdentityError.NotFound, verification.Error);
    }

    [Fact]
    public async Task A_did_the_fake_claims_but_does_not_host_fails_on_its_document()
    {
        const string ghost = "did:plc:ghostghostghostghostghos";
        _pds.ResolveHandleTo("ghost.test", ghost);

        var verification = await _resolver.VerifyHandleAsync(ghost, "ghost.test");

        Assert.Equal(HandleCheck.DidDocument, verification.FailedCheck);
        Assert.Equal(IdentityError.NotFound, verification.Error);
    }

    [Fact]
    public async Task An_unreachable_directory_fails_verification_as_transient()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        _pds.FailNext(FakePdsServer.DidDocumentCall, FakeFailure.ServerError500);

        var verification = await _resolver.VerifyHandleAsync(alice.Did, "alice.test");

        Assert.Equal(HandleCheck.DidDocument, verification.FailedCheck);
        Assert.True(verification.IsTransient);
    }

    [Theory]
    [InlineData("did:plc:abcdefghijklmnopqrstuvwx", "alice.test\nadmin")]
    [InlineData("did:plc:abcdefghijklmnopqrstuvwx", "alice.onion")]
    [InlineData("did:key:abc", "alice.test")]
    public async Task Invalid_syntax_fails_verification_without_asking_anyone(string did, string handle)
    {
        var verification = await _resolver.VerifyHandleAsync(did, handle);

        Assert.Equal(HandleCheck.Syntax, verification.FailedCheck);
        Assert.Equal(0, _pds.CallCount(FakePdsServer.DidDocumentCall));
        Assert.Equal(0, _pds.CallCount("com.atproto.identity.resolveHandle"));
    }

    [Fact]
    public async Task A_document_the_caller_already_has_is_not_read_again()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var resolver = new IdentityResolver(IdentityTestClients.Direct(),
            new IdentitySettings { PlcDirectory = _pds.Url, HandleResolver = _pds.Url, CacheTtl = TimeSpan.Zero });
        var doc = await resolver.ResolveDidAsync(alice.Did);

        var verification = await resolver.VerifyHandleAsync(alice.Did, "alice.test", doc);

        Assert.True(verification.Verified, verification.Reason);
        Assert.Equal(1, _pds.CallCount(FakePdsServer.DidDocumentCall));
    }

    [Fact]
    public async Task A_document_of_another_did_given_by_the_caller_is_refused()
    {
        var alice = _pds.CreateAccount("alice.test", "pw-identity-spec");
        var mallory = _pds.CreateAccount("mallory.test", "pw-identity-spec");
        var alicesDoc = await _resolver.ResolveDidAsync(alice.Did);

        var verification = await _resolver.VerifyHandleAsync(mallory.Did, "alice.test", alicesDoc);

        Assert.Equal(HandleCheck.DidDocument, verification.FailedCheck);
        Assert.Equal(IdentityError.Mismatch, verification.Error);
    }
}

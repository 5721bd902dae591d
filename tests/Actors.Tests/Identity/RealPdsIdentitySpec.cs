using Supervisor.Actors.Identity;
using Supervisor.Actors.Tests.RealPds;

namespace Supervisor.Actors.Tests.Identity;

/// <summary>Identities of real accounts: DID documents from the local PLC directory, handles from the reference PDS.</summary>
[Collection(RealPdsCollection.Name)]
public sealed class RealPdsIdentitySpec(RealPdsServer pds)
{
    private IdentityResolver Resolver()
    {
        Assert.False(string.IsNullOrEmpty(pds.PlcUrl), "PDS_PLC_URL is not set: source /work/dev/devenv.sh or run scripts/test");
        return new IdentityResolver(IdentityTestClients.Direct(), new IdentitySettings { PlcDirectory = pds.PlcUrl, HandleResolver = pds.Url });
    }

    [Fact]
    public async Task A_new_accounts_did_resolves_through_the_plc_directory_to_its_pds_and_handle()
    {
        var account = await pds.CreateAccountAsync("id");

        var doc = await Resolver().ResolveDidAsync(account.Did);

        Assert.True(doc.Succeeded, doc.Reason);
        Assert.Equal(pds.PublicUrl, doc.PdsEndpoint);
        Assert.Equal([account.Handle], doc.Handles);
    }

    [Fact]
    public async Task A_new_accounts_handle_resolves_through_the_pds_to_its_did()
    {
        var account = await pds.CreateAccountAsync("id");

        var resolved = await Resolver().ResolveHandleAsync(account.Handle);

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal(account.Did, resolved.Did);
    }

    [Fact]
    public async Task A_new_accounts_handle_is_verified_for_its_did_and_not_for_another()
    {
        var account = await pds.CreateAccountAsync("id");
        var other = await pds.CreateAccountAsync("id");
        var resolver = Resolver();

        var verified = await resolver.VerifyHandleAsync(account.Did, account.Handle);
        var stolen = await resolver.VerifyHandleAsync(other.Did, account.Handle);

        Assert.True(verified.Verified, verified.Reason);
        Assert.Equal(HandleCheck.AlsoKnownAs, stolen.FailedCheck);
    }

    [Fact]
    public async Task The_pds_answers_the_handles_well_known_atproto_did_as_the_handles_own_web_server()
    {
        var account = await pds.CreateAccountAsync("id");
        using var dns = new FakeDnsServer(); // no _atproto TXT record
        var resolver = new IdentityResolver(IdentityTestClients.RoutedTo(pds.Url), new IdentitySettings { PlcDirectory = pds.PlcUrl }, [dns.EndPoint])
        {
            HandleWellKnownUrl = handle => $"http://{handle}/.well-known/atproto-did",
        };

        var resolved = await resolver.ResolveHandleAsync(account.Handle);

        Assert.True(resolved.Succeeded, resolved.Reason);
        Assert.Equal(account.Did, resolved.Did);
        Assert.Equal("https", resolved.Method);
    }

    [Fact]
    public async Task A_handle_the_pds_does_not_know_is_not_found()
    {
        var resolved = await Resolver().ResolveHandleAsync(RealPdsServer.NewHandle("nobody"));

        Assert.Equal(IdentityError.NotFound, resolved.Error);
    }

    [Fact]
    public async Task A_did_the_plc_directory_does_not_know_is_not_found()
    {
        var doc = await Resolver().ResolveDidAsync("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");

        Assert.Equal(IdentityError.NotFound, doc.Error);
    }
}

using Supervisor.Actors.Identity;

namespace Supervisor.Actors.Tests.Identity;

public sealed class DidSyntaxSpec
{
    [Theory]
    [InlineData("did:plc:6qijfquvu6y445mluoyh5wyv")]
    [InlineData("did:plc:abcdefghijklmnopqrstuvwx")]
    [InlineData("did:plc:222222222222222222222222")]
    [InlineData("did:web:example.com")]
    [InlineData("did:web:localhost")]
    [InlineData("did:web:localhost%3A2583")]
    [InlineData("did:web:pds.example.com%3a443")]
    [InlineData("did:web:127.0.0.1%3A8080")]
    public void Plc_and_web_dids_of_the_atproto_syntax_are_valid(string did) => Assert.True(DidSyntax.IsValid(did));

    public static TheoryData<string?, string> InvalidDids => new()
    {
        { null, "null" },
        { "", "empty" },
        { "did:plc:", "no identifier" },
        { "did:plc:6qijfquvu6y445mluoyh5wy", "23 characters" },
        { "did:plc:6qijfquvu6y445mluoyh5wyvv", "25 characters" },
        { "did:plc:6QIJFQUVU6Y445MLUOYH5WYV", "upper case" },
        { "did:plc:0qijfquvu6y445mluoyh5wyv", "0 is not base32" },
        { "did:plc:1qijfquvu6y445mluoyh5wyv", "1 is not base32" },
        { "did:plc:8qijfquvu6y445mluoyh5wyv", "8 is not base32" },
        { "did:plc:6qijfquvu6y445mluoyh5wy\n", "newline" },
        { "DID:plc:6qijfquvu6y445mluoyh5wyv", "upper-case scheme" },
        { "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "did:key is not supported" },
        { "did:example:123", "other method" },
        { "did:web:", "no host" },
        { "did:web:example.com:path", "did:web with a path" },
        { "did:web:example.com/path", "slash" },
        { "did:web:-example.com", "leading hyphen" },
        { "did:web:exa mple.com", "space" },
        { "did:web:example.com%3A", "empty port" },
        { "did:web:example.com%3A99999", "port out of range" },
        { "did:web:example.com%3Aabc", "port not digits" },
        { "did:web:example.com%2F", "other percent escape" },
        { "did:web:exämple.com", "unicode host" },
        { "did:web:example.com\u001b", "ESC" },
        { "did:web:" + new string('a', 2100), "longer than 2048 characters" },
        { "at://did:plc:6qijfquvu6y445mluoyh5wyv", "URI" },
    };

    [Theory]
    [MemberData(nameof(InvalidDids))]
    public void Other_dids_are_invalid(string? did, string why) => Assert.False(DidSyntax.IsValid(did), why);

    [Fact]
    public void A_did_web_gives_its_host_and_port()
    {
        Assert.True(DidSyntax.TryParseWeb("did:web:localhost%3A2583", out var host, out var port));
        Assert.Equal(("localhost", 2583), (host, port));
        Assert.True(DidSyntax.TryParseWeb("did:web:example.com", out host, out port));
        Assert.Equal(("example.com", (int?)null), (host, port));
    }

    [Fact]
    public void Only_did_plc_identifiers_count_as_plc()
    {
        Assert.True(DidSyntax.IsPlc("did:plc:6qijfquvu6y445mluoyh5wyv"));
        Assert.False(DidSyntax.IsPlc("did:web:example.com"));
        Assert.True(DidSyntax.IsWeb("did:web:example.com"));
    }
}

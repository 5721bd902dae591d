using Supervisor.Actors.Identity;

namespace Supervisor.Actors.Tests.Identity;

public sealed class HandleSyntaxSpec
{
    [Theory]
    [InlineData("alice.test")]
    [InlineData("alice.bsky.social")]
    [InlineData("Alice.Bsky.Social")]
    [InlineData("x.com")]
    [InlineData("a-b.c-d.example.org")]
    [InlineData("0.example.com")]
    [InlineData("xn--ls8h.test")]
    [InlineData("john.test.dev")]
    public void Handles_of_the_atproto_syntax_are_valid(string handle) => Assert.True(HandleSyntax.IsValid(handle));

    public static TheoryData<string?, string> InvalidHandles => new()
    {
        { null, "null" },
        { "", "empty" },
        { "alice", "one label" },
        { "alice.", "trailing dot" },
        { ".alice.test", "leading dot" },
        { "alice..test", "empty label" },
        { "-alice.test", "leading hyphen" },
        { "alice-.test", "trailing hyphen" },
        { "alice.-test", "TLD with a leading hyphen" },
        { "alice.t_st", "underscore" },
        { "alice.123", "TLD starting with a digit" },
        { "alice.1test", "TLD starting with a digit" },
        { "alice.test\n", "newline" },
        { "alice\n.test", "newline inside" },
        { "alice.test\r", "carriage return" },
        { "\u001b[31malice.test", "ESC escape code" },
        { "alice.te\u0000st", "NUL" },
        { " alice.test", "leading space" },
        { "alice .test", "space" },
        { "alice.test\t", "tab" },
        { "älice.test", "unicode letter" },
        { "alice.tést", "unicode TLD" },
        { "аlice.test", "Cyrillic a" },
        { "alice.test\u200b", "zero-width space" },
        { "alice@test.com", "at sign" },
        { "at://alice.test", "URI" },
        { new string('a', 64) + ".test", "label of 64 characters" },
        { string.Join('.', Enumerable.Repeat(new string('a', 63), 4)) + ".test", "longer than 253 characters" },
        { "alice.local", "reserved .local" },
        { "alice.arpa", "reserved .arpa" },
        { "alice.invalid", "reserved .invalid" },
        { "alice.localhost", "reserved .localhost" },
        { "alice.internal", "reserved .internal" },
        { "alice.example", "reserved .example" },
        { "alice.onion", "reserved .onion" },
        { "alice.alt", "reserved .alt" },
        { "alice.LOCAL", "reserved TLD in capitals" },
    };

    [Theory]
    [MemberData(nameof(InvalidHandles))]
    public void Handles_outside_the_atproto_syntax_are_invalid(string? handle, string why) =>
        Assert.False(HandleSyntax.IsValid(handle), why);

    [Fact]
    public void A_handle_of_exactly_253_characters_is_valid_and_one_more_is_not()
    {
        var handle = string.Join('.', Enumerable.Repeat(new string('a', 63), 3)) + "." + new string('b', 61);
        Assert.Equal(253, handle.Length);
        Assert.True(HandleSyntax.IsValid(handle));
        Assert.False(HandleSyntax.IsValid("a" + handle));
    }

    [Fact]
    public void The_test_tld_is_allowed_because_the_test_pds_only_creates_test_handles() =>
        Assert.True(HandleSyntax.IsValid("bob.test"));

    [Fact]
    public void The_normal_form_of_a_handle_is_lower_case()
    {
        Assert.Equal("alice.bsky.social", HandleSyntax.Normalize("Alice.BSKY.social"));
        Assert.True(HandleSyntax.TryNormalize("Bob.Test", out var normal));
        Assert.Equal("bob.test", normal);
    }

    [Fact]
    public void An_invalid_handle_has_no_normal_form()
    {
        Assert.False(HandleSyntax.TryNormalize("bad handle.test", out var normal));
        Assert.Equal("", normal);
        Assert.Throws<FormatException>(() => HandleSyntax.Normalize("alice.local"));
    }
}

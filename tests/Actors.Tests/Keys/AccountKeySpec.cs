using Supervisor.Actors.Keys;

namespace Supervisor.Actors.Tests.Keys;

/// <summary>An account key's secret matches the hash kept for it, and nothing else does.</summary>
public sealed class AccountKeySpec
{
    [Fact]
    public void A_new_keys_secret_matches_its_hash_and_another_secret_does_not()
    {
        var (_, key, hash) = AccountKey.New();
        Assert.True(AccountKey.TryParse(key, out _, out var secret));

        Assert.True(AccountKey.Matches(secret, hash));
        Assert.False(AccountKey.Matches(secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A'), hash));
        Assert.False(AccountKey.Matches(secret, hash.ToUpperInvariant()));
        Assert.False(AccountKey.Matches(secret, hash[..^1]));
        Assert.False(AccountKey.Matches("", hash));
    }

    [Fact]
    public void A_secret_longer_than_any_issued_matches_only_its_own_hash()
    {
        var secret = new string('x', 500) + "é";
        Assert.True(AccountKey.Matches(secret, AccountKey.Hash(secret)));
        Assert.False(AccountKey.Matches(secret, AccountKey.Hash(secret[1..])));
    }

    [Fact]
    public void The_hash_kept_of_a_secret_is_its_lower_case_hex_SHA_256_as_journaled_keys_hold_it() =>
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", AccountKey.Hash("abc"));
}

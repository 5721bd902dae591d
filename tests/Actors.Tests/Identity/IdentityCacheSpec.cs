using Supervisor.Actors.Identity;

namespace Supervisor.Actors.Tests.Identity;

public sealed class IdentityCacheSpec
{
    [Fact]
    public void The_cache_never_holds_more_than_its_capacity_and_keeps_the_newest()
    {
        var time = new ManualTime();
        var cache = new IdentityCache<int>(TimeSpan.FromMinutes(5), 10, time);

        for (var i = 0; i < 25; i++)
        {
            cache.Set($"k{i}", i);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.InRange(cache.Count, 1, 10);
        Assert.True(cache.TryGet("k24", out var newest));
        Assert.Equal(24, newest);
        Assert.False(cache.TryGet("k0", out _));
    }

    [Fact]
    public void Expired_entries_are_dropped_first_when_the_cache_is_full()
    {
        var time = new ManualTime();
        var cache = new IdentityCache<int>(TimeSpan.FromMinutes(5), 3, time);
        cache.Set("old", 1);
        time.Advance(TimeSpan.FromMinutes(4));
        cache.Set("a", 2);
        cache.Set("b", 3);
        time.Advance(TimeSpan.FromMinutes(2));

        cache.Set("c", 4);

        Assert.Equal(3, cache.Count);
        Assert.True(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("c", out _));
    }
}

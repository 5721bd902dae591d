using Supervisor.Actors.Limits;

namespace Supervisor.Actors.Tests.Limits;

/// <summary>What a login budget bucket holds of the attempts it has counted: the recent ones, and no key for good.</summary>
public sealed class LoginAttemptTableSpec
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    [Fact]
    public void A_key_tried_once_and_never_again_is_forgotten_once_its_attempt_has_left_the_longest_window()
    {
        var table = new LoginAttemptTable(Day);
        for (var i = 0; i < 1000; i++) table.Record($"once-{i}", Start.AddSeconds(i));

        // A day later other identifiers log in; none of the first thousand does again.
        var later = Start + Day + TimeSpan.FromHours(1);
        for (var i = 0; i < 1000; i++) table.Record($"later-{i}", later.AddSeconds(i));

        Assert.Empty(table.Of("once-0"));
        Assert.Empty(table.Of("once-999"));
        Assert.Equal(1000, table.Keys);
        Assert.Equal([later.AddSeconds(999)], table.Of("later-999"));
    }

    [Fact]
    public void Sweeps_keep_every_key_with_an_attempt_inside_the_window()
    {
        var table = new LoginAttemptTable(Day);
        table.Record("bot", Start);
        table.Record("bot", Start.AddHours(20));
        // Over a day after the bot's first attempt, less after its second: several sweeps run meanwhile.
        var later = Start + Day + TimeSpan.FromHours(1);
        for (var i = 0; i < 3000; i++) table.Record($"key-{i}", later.AddSeconds(i));

        Assert.Equal(3001, table.Keys);
        Assert.Equal([Start.AddHours(20)], table.Recent(later.AddSeconds(3000)).Single(a => a.Key == "bot").At);
        Assert.Equal([later], table.Of("key-0"));
    }
}

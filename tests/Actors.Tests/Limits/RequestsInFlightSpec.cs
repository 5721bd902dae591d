using Supervisor.Actors.Limits;

namespace Supervisor.Actors.Tests.Limits;

/// <summary>
/// An account's places for requests in flight (README, "Limits"): those waiting for one get it in the order they came,
/// and one that stopped waiting leaves its place in the queue to the next.
/// </summary>
public sealed class RequestsInFlightSpec
{
    private const string Alice = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    [Fact]
    public async Task Requests_waiting_for_a_place_get_it_in_the_order_they_came()
    {
        var places = new RequestsInFlight(3);
        for (var i = 0; i < 3; i++) Assert.True(places.TryEnter(Alice));
        var waiting = Enumerable.Range(0, 3).Select(_ => places.EnterAsync(Alice, CancellationToken.None)).ToList();
        Assert.False(await places.EnterAsync(Alice, CancellationToken.None)); // as many wait already

        for (var served = 0; served < 3; served++)
        {
            places.Leave(Alice);
            Assert.True(await waiting[served].WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.All(waiting.Skip(served + 1), w => Assert.False(w.IsCompleted, "a later request got the place first"));
        }
        Assert.False(places.TryEnter(Alice));
    }

    [Fact]
    public async Task A_request_that_stopped_waiting_leaves_its_place_in_the_queue_to_the_next()
    {
        var places = new RequestsInFlight(2);
        Assert.True(places.TryEnter(Alice));
        Assert.True(places.TryEnter(Alice));
        using var gone = new CancellationTokenSource();
        var given = new[] { places.EnterAsync(Alice, gone.Token), places.EnterAsync(Alice, gone.Token) };
        gone.Cancel();
        Assert.All(await Task.WhenAll(given), entered => Assert.False(entered));

        // Both places in flight still taken, none waiting: the next two wait, and get the places as they come free.
        var next = new[] { places.EnterAsync(Alice, CancellationToken.None), places.EnterAsync(Alice, CancellationToken.None) };
        Assert.All(next, w => Assert.False(w.IsCompleted, "refused at once, as if the requests gone were still waiting"));
        places.Leave(Alice);
        places.Leave(Alice);
        Assert.All(await Task.WhenAll(next).WaitAsync(TimeSpan.FromSeconds(5)), Assert.True);
    }

    [Fact]
    public void An_account_is_counted_by_one_name_however_a_request_spells_it()
    {
        Assert.All(new[] { "alice.test", "Alice.Test", "@alice.test", "@@ALICE.test", " alice.test ", "\talice.test" },
            spelling => Assert.Equal("alice.test", RequestsInFlight.Counted(spelling)));
        Assert.All(new[] { Alice, " " + Alice, "@" + Alice, Alice + "  " }, spelling => Assert.Equal(Alice, RequestsInFlight.Counted(spelling)));
    }
}

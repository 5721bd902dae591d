using Supervisor.Host.Proxy;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// The deadline of a request passed through to a PDS ends it when its time is up or its client goes away, and is used
/// again by a later request only as a fresh one: never cancelled by what ended the earlier request.
/// </summary>
public sealed class RequestDeadlineSpec
{
    private static readonly TimeSpan Long = TimeSpan.FromHours(1);

    [Fact]
    public async Task A_deadline_is_cancelled_when_its_time_is_up()
    {
        var deadline = new RequestDeadlines().Start(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await Task.Delay(Timeout.Infinite, deadline.Token).ContinueWith(_ => { }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(deadline.IsCancellationRequested);
    }

    [Fact]
    public void A_deadline_is_cancelled_as_soon_as_its_client_goes_away()
    {
        using var client = new CancellationTokenSource();
        var deadline = new RequestDeadlines().Start(Long, client.Token);
        Assert.False(deadline.IsCancellationRequested);
        client.Cancel();
        Assert.True(deadline.IsCancellationRequested);
    }

    [Fact]
    public void A_deadline_given_back_serves_the_next_request_and_its_former_client_no_longer_cancels_it()
    {
        var deadlines = new RequestDeadlines();
        using var formerClient = new CancellationTokenSource();
        var first = deadlines.Start(Long, formerClient.Token);
        first.Return();

        var next = deadlines.Start(Long, CancellationToken.None);
        Assert.Same(first, next);
        formerClient.Cancel();
        Assert.False(next.IsCancellationRequested);
    }

    [Fact]
    public async Task A_deadline_given_back_before_its_time_starts_over_with_the_next_requests_time()
    {
        var deadlines = new RequestDeadlines();
        var first = deadlines.Start(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        first.Return();

        var next = deadlines.Start(Long, CancellationToken.None);
        Assert.Same(first, next);
        await Task.Delay(400);
        Assert.False(next.IsCancellationRequested);
    }

    [Fact]
    public void A_cancelled_deadline_is_not_used_again()
    {
        var deadlines = new RequestDeadlines();
        using var client = new CancellationTokenSource();
        var first = deadlines.Start(Long, client.Token);
        client.Cancel();
        first.Return();

        var next = deadlines.Start(Long, CancellationToken.None);
        Assert.NotSame(first, next);
        Assert.False(next.IsCancellationRequested);
    }

    [Fact]
    public void Beyond_its_size_the_pool_keeps_no_more_deadlines()
    {
        var deadlines = new RequestDeadlines(poolSize: 1);
        var (a, b) = (deadlines.Start(Long, CancellationToken.None), deadlines.Start(Long, CancellationToken.None));
        a.Return();
        b.Return();

        var (c, d) = (deadlines.Start(Long, CancellationToken.None), deadlines.Start(Long, CancellationToken.None));
        Assert.Same(a, c);
        Assert.NotSame(b, d);
    }
}

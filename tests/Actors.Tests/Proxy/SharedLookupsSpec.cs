using Supervisor.Host.Proxy;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// Lookups shared by the requests that need them at once (a PDS's service DID, an account's e-mail): one at a time for a
/// key, none of the waiters ends it by giving up, and its answer kept as long as the lookup said.
/// </summary>
public sealed class SharedLookupsSpec
{
    [Fact]
    public async Task Requests_that_ask_at_once_wait_for_one_lookup_and_one_giving_up_ends_it_for_no_other()
    {
        var lookups = new SharedLookups<string>(16);
        var calls = 0;
        var answer = new TaskCompletionSource<(string, TimeSpan)>();
        Task<(string, TimeSpan)> LookUp()
        {
            Interlocked.Increment(ref calls);
            return answer.Task;
        }
        using var impatient = new CancellationTokenSource();
        var waiting = Enumerable.Range(0, 8).Select(_ => lookups.GetAsync("pds", LookUp, CancellationToken.None)).ToList();
        var givesUp = lookups.GetAsync("pds", LookUp, impatient.Token);
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => givesUp);

        answer.SetResult(("did:web:pds.example", TimeSpan.FromMinutes(1)));
        Assert.All(await Task.WhenAll(waiting), did => Assert.Equal("did:web:pds.example", did));
        Assert.Equal("did:web:pds.example", await lookups.GetAsync("pds", LookUp, CancellationToken.None)); // kept
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task An_answer_to_keep_for_no_time_is_looked_up_again_and_a_failed_lookup_fails_its_waiters_only_once()
    {
        var lookups = new SharedLookups<string?>(16);
        var calls = 0;
        Task<(string?, TimeSpan)> Unkept()
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult<(string?, TimeSpan)>((null, TimeSpan.Zero));
        }
        Assert.Null(await lookups.GetAsync("a", Unkept, CancellationToken.None));
        Assert.Null(await lookups.GetAsync("a", Unkept, CancellationToken.None));
        Assert.Equal(2, calls);

        static Task<(string?, TimeSpan)> Throws() => throw new InvalidOperationException("the server is gone");
        await Assert.ThrowsAsync<InvalidOperationException>(() => lookups.GetAsync("b", Throws, CancellationToken.None));
        Assert.Equal("back", await lookups.GetAsync("b", () => Task.FromResult<(string?, TimeSpan)>(("back", TimeSpan.FromMinutes(1))), CancellationToken.None));
    }
}

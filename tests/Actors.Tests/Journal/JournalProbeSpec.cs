using Supervisor.Actors.Journal;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Journal;

/// <summary>
/// The journal's health as the probe sees it: a journal that answers late (busy, as under a bulk import) is available;
/// one that does not answer within the probe's timeout, or answers with an error, is not; it is available again at its
/// first answer.
/// </summary>
[Collection(FailingJournalCollection.Name)]
public sealed class JournalProbeSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(FailingJournal.Config, output: output), IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly JournalHealth _health = new();

    void IDisposable.Dispose()
    {
        FailingJournal.SlowReadsMs = 0;
        FailingJournal.FailReads = false;
        Dispose();
    }

    /// <summary>Starts the probe (a child of the test actor, which hears its changes); the journal answers its first checks.</summary>
    private void StartProbe()
    {
        ChildActorOf(JournalProbe.Props(_health, Interval, Timeout, TimeProvider.System));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.True(_health.IsAvailable);
    }

    [Fact]
    public void A_journal_answering_later_than_the_interval_but_within_the_timeout_stays_available()
    {
        StartProbe();
        FailingJournal.SlowReadsMs = 600; // six intervals, a fifth of the timeout (room for a loaded machine)
        ExpectNoMsg(TimeSpan.FromSeconds(4));
        Assert.True(_health.IsAvailable, _health.Current.Error);
    }

    [Fact]
    public void A_journal_silent_past_the_timeout_is_unavailable_until_it_answers()
    {
        StartProbe();
        FailingJournal.SlowReadsMs = 10_000;
        Assert.False(ExpectMsg<JournalAvailabilityChanged>(TimeSpan.FromSeconds(8)).Available);
        Assert.Contains("did not answer within 3 s", _health.Current.Error);
        FailingJournal.SlowReadsMs = 0;
        Assert.True(ExpectMsg<JournalAvailabilityChanged>(TimeSpan.FromSeconds(15)).Available);
        Assert.True(_health.IsAvailable);
    }

    [Fact]
    public void A_journal_answering_with_an_error_is_unavailable_at_once()
    {
        StartProbe();
        FailingJournal.FailReads = true;
        Assert.False(ExpectMsg<JournalAvailabilityChanged>(TimeSpan.FromSeconds(2)).Available); // before the 3 s timeout
        Assert.Contains("refuses reads", _health.Current.Error);
    }
}

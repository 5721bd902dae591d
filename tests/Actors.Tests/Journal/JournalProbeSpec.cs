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
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

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
        FailingJournal.SlowReadsMs = 600; // six intervals, within the timeout
        ExpectNoMsg(TimeSpan.FromSeconds(3));
        Assert.True(_health.IsAvailable, _health.Current.Error);
    }

    [Fact]
    public void A_journal_silent_past_the_timeout_is_unavailable_until_it_answers()
    {
        StartProbe();
        FailingJournal.SlowReadsMs = 3000;
        Assert.False(ExpectMsg<JournalAvailabilityChanged>(TimeSpan.FromSeconds(3)).Available);
        Assert.Contains("did not answer within 1 s", _health.Current.Error);
        FailingJournal.SlowReadsMs = 0;
        Assert.True(ExpectMsg<JournalAvailabilityChanged>(TimeSpan.FromSeconds(5)).Available);
        Assert.True(_health.IsAvailable);
    }

    [Fact]
    public void A_journal_answering_with_an_error_is_unavailable_at_once()
    {
        StartProbe();
        FailingJournal.FailReads = true;
        Assert.False(ExpectMsg<JournalAvailabilityChanged>(TimeSpan.FromMilliseconds(800)).Available);
        Assert.Contains("refuses reads", _health.Current.Error);
    }
}

using Akka.Configuration;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Supervisor.Host.Events;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The configuration the host ships (hocon/supervisor.conf, loaded as the host loads it, with no override) holds the
/// defaults the README gives: the specs of each behaviour set their own values, so only these see the shipped ones.
/// </summary>
public sealed class ShippedSettingsSpec
{
    private static readonly Config Shipped = SupervisorConfig.Load(JournalKind.Sqlite, "Data Source=unused.db", [TestJournal.TestKey]);

    [Fact]
    public void Accounts_start_32_at_a_time_rest_after_5_minutes_count_as_active_for_2_hours_and_refresh_no_sooner_than_a_minute()
    {
        var settings = SupervisorConfig.AccountSettingsOf(Shipped);

        Assert.Equal(32, settings.StartupBatch);
        Assert.Equal(TimeSpan.FromMinutes(5), settings.PassivateAfter);
        Assert.Equal(TimeSpan.FromHours(2), settings.ActiveWindow);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.MinRefreshInterval);
    }

    [Fact]
    public void A_journal_that_fails_is_seen_within_2_seconds_and_one_that_hangs_within_10()
    {
        var settings = SupervisorConfig.AccountSettingsOf(Shipped);

        Assert.Equal(TimeSpan.FromSeconds(2), settings.JournalProbeInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.JournalProbeTimeout);
    }

    [Fact]
    public void A_key_opens_30_sessions_in_5_minutes_and_300_a_day_and_rotates_them_100_times_in_5_minutes_and_3000_a_day()
    {
        var limits = KeySessionLimits.From(Shipped);

        Assert.Equal([new BudgetWindow(30, TimeSpan.FromMinutes(5)), new BudgetWindow(300, TimeSpan.FromDays(1))], limits.Opens);
        Assert.Equal([new BudgetWindow(100, TimeSpan.FromMinutes(5)), new BudgetWindow(3_000, TimeSpan.FromDays(1))], limits.Rotations);
    }

    [Fact]
    public void Key_copies_hear_from_the_owner_every_5_seconds_and_a_change_waits_3_seconds_at_most_for_a_silent_copy()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), Shipped.GetTimeSpan("supervisor.keys.heartbeat"));
        Assert.Equal(TimeSpan.FromSeconds(3), Shipped.GetTimeSpan("supervisor.keys.replica-ack-timeout"));
    }

    [Fact]
    public void History_is_written_every_second_or_500_events_at_a_time_with_at_most_10000_waiting()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), Shipped.GetTimeSpan("supervisor.history.write-interval"));
        Assert.Equal(500, Shipped.GetInt("supervisor.history.write-batch"));
        Assert.Equal(10_000, Shipped.GetInt("supervisor.history.buffer"));
    }

    [Fact]
    public void An_account_has_64_requests_in_flight_and_a_server_512_connections_at_most()
    {
        Assert.Equal(64, Supervisor.Host.Proxy.ProxySettings.From(Shipped.GetConfig("supervisor.proxy")).MaxInFlight);
        Assert.Equal(512, Supervisor.Actors.Pds.OutboundAddresses.From(Shipped.GetConfig("supervisor.outbound")).MaxConnectionsPerServer);
    }

    [Fact]
    public void A_partition_is_decided_by_keep_majority_among_the_supervisor_nodes_once_stable_for_7_seconds_after_3_seconds_of_silence()
    {
        var resolver = Shipped.GetConfig("akka.cluster.split-brain-resolver");
        Assert.Equal("keep-majority", resolver.GetString("active-strategy"));
        Assert.Equal("supervisor", resolver.GetString("keep-majority.role"));
        Assert.Equal(TimeSpan.FromSeconds(7), resolver.GetTimeSpan("stable-after"));
        Assert.True(resolver.GetBoolean("down-all-when-unstable"));
        Assert.Equal(TimeSpan.FromSeconds(3), Shipped.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal("Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster", Shipped.GetString("akka.cluster.downing-provider-class"));
    }

    [Fact]
    public void A_node_serves_1000_readers_with_account_keys_and_8_streams_a_key()
    {
        Assert.Equal(new FeedReaderLimits(1_000, 8), FeedReaderLimits.From(Shipped.GetConfig("supervisor.events")));
    }
}

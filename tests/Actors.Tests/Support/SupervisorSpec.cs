using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// A TestKit with the supervisor's real configuration on a fresh SQLite journal, an accounts supervisor,
/// and helpers to talk to it by Ask. <see cref="StartSecondSystem"/> starts another ActorSystem on the same
/// journal, as a restart would.
/// </summary>
public abstract class SupervisorSpec : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    protected SupervisorSpec(TestJournal journal, ITestOutputHelper output, string? overrides = null)
        : base(journal.Config(overrides), output: output)
    {
        Journal = journal;
        Overrides = overrides;
        Settings = SupervisorConfig.AccountSettingsOf(Sys.Settings.Config);
        Client = PdsClient.Create(Settings.RequestTimeout, outbound: OutboundAddresses.WithLoopback);
        Limits = new ServerLimits(Settings.ServerLimits);
        JournalHealth = new JournalHealth();
        if (!DefersSupervisor) Accounts = StartSupervisor();
    }

    /// <summary>
    /// True for a spec that starts the supervisor itself (<see cref="StartSupervisor"/>) once it knows its settings: an
    /// ActorSystem has one supervisor, as it has one shard region per entity type.
    /// </summary>
    protected virtual bool DefersSupervisor => false;

    /// <summary>Starts the system's accounts supervisor (with an identity resolver: identities are verified).</summary>
    protected IActorRef StartSupervisor(Supervisor.Actors.Identity.IdentityResolver? identity = null) =>
        Sys.ActorOf(AccountsSupervisor.Props(Client, Settings, journal: JournalHealth, limits: Limits, identity: identity), AccountsSupervisor.Name);

    protected TestJournal Journal { get; }

    protected string? Overrides { get; }

    protected AccountSettings Settings { get; }

    protected PdsClient Client { get; }

    /// <summary>The journal's health, as the supervisor of the first system sees it.</summary>
    protected JournalHealth JournalHealth { get; }

    /// <summary>The rate limits of the servers, as the supervisor of the first system sees them.</summary>
    protected ServerLimits Limits { get; }

    protected IActorRef Accounts { get; set; } = ActorRefs.Nobody;

    protected Task<object> AskAsync(object message, IActorRef? to = null) => (to ?? Accounts).Ask<object>(message, AskTimeout);

    protected async Task<AccountStatus> LoginAsync(string service, string identifier, string password, IActorRef? to = null)
    {
        var reply = await AskAsync(new Login(service, identifier, password), to);
        return Assert.IsType<SessionStarted>(reply).Status;
    }

    protected async Task<SupervisorCounts> CountsAsync(IActorRef? to = null) => Assert.IsType<SupervisorCounts>(await AskAsync(GetSupervisorCounts.Instance, to));

    protected async Task<AccountStatus> StatusAsync(string id, IActorRef? to = null) =>
        Assert.IsType<AccountStatus>(await AskAsync(new GetAccountStatus(id), to));

    /// <summary>
    /// The status, or null when no answer came within a second: for polling an account that may be stopping,
    /// where a message that reaches it as it stops is lost (as Akka drops what a stopping actor has stashed).
    /// </summary>
    protected async Task<AccountStatus?> StatusOrNullAsync(string id)
    {
        try
        {
            return await Accounts.Ask<object>(new GetAccountStatus(id), TimeSpan.FromSeconds(1)) as AccountStatus;
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    protected async Task<XrpcResponse> CallAsync(string id, XrpcRequest request, IActorRef? to = null) =>
        Assert.IsType<XrpcResponse>(await AskAsync(new CallXrpc(id, request), to));

    protected static XrpcRequest GetSession => XrpcRequest.Query("com.atproto.server.getSession");

    /// <summary>
    /// Starts another ActorSystem with an accounts supervisor on the same journal, with the spec's overrides
    /// and then <paramref name="overrides"/> (which win); its accounts run with the settings of that configuration.
    /// </summary>
    protected (ActorSystem System, IActorRef Accounts) StartSecondSystem(PdsClient? client = null, string? overrides = null)
    {
        var config = Journal.Config(Overrides + "\n" + overrides);
        var system = ActorSystem.Create("second-" + Guid.NewGuid().ToString("N")[..6], config);
        var settings = SupervisorConfig.AccountSettingsOf(system.Settings.Config);
        var accounts = system.ActorOf(AccountsSupervisor.Props(client ?? Client, settings), AccountsSupervisor.Name);
        return (system, accounts);
    }

    /// <summary>A second member of this system's cluster, on the same journal and configuration, joined and up.</summary>
    protected async Task<ActorSystem> SecondMemberAsync()
    {
        var member = ActorSystem.Create(Sys.Name, Journal.Config(Overrides)); // a cluster has one system name
        Akka.Cluster.Cluster.Get(member).Join(Akka.Cluster.Cluster.Get(Sys).SelfAddress);
        await EventuallyAsync(() => Task.FromResult(Akka.Cluster.Cluster.Get(Sys).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) == 2),
            TimeSpan.FromSeconds(20), "two members");
        return member;
    }

    /// <inheritdoc />
    protected override void AfterAll()
    {
        base.AfterAll();
        Journal.Dispose();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    internal static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
    }

    /// <summary>What <paramref name="ask"/> is answered within its time, or "no answer".</summary>
    internal static async Task<object> AnswerOrNoneAsync(Task<object> ask)
    {
        try
        {
            return await ask;
        }
        catch (AskTimeoutException)
        {
            return "no answer";
        }
    }
}

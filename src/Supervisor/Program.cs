using Akka;
using Akka.Actor;
using Akka.Hosting;
using Serilog;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Host.Cli;
using Supervisor.Host.Events;
using Supervisor.Host.Configuration;
using Supervisor.Host.Health;
using Supervisor.Host.Http;
using Supervisor.Host.Logging;
using Supervisor.Host.Proxy;
using Supervisor.Host.Telemetry;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Identity;

if (SupervisorCli.Handles(args)) return await SupervisorCli.RunAsync(args, Console.In, Console.Out, Console.Error);
if (args.Length > 0 && args[0] == "run") args = args[1..];
// Before anything is written (the JSON log file included, wherever it is): every file the host makes is owner-only.
OwnerOnly.RestrictUmask();

// SUPERVISOR_LOG_LEVEL: an unknown level stops the start below, once the log can say so.
var logLevel = LogLevelSetting.Parse(Environment.GetEnvironmentVariable(LogLevelSetting.Variable), out var logLevelError) ?? Serilog.Events.LogEventLevel.Information;
ReopenableFile? jsonLog = null;
if (Environment.GetEnvironmentVariable("SUPERVISOR_LOG_FILE") is { Length: > 0 } logFile)
{
    if (Path.GetDirectoryName(Path.GetFullPath(logFile)) is { } folder) Directory.CreateDirectory(folder);
    jsonLog = new ReopenableFile(logFile);
}
Log.Logger = HostLog.Configure(logLevel, Console.OpenStandardOutput(), jsonLog).CreateLogger();
// SIGHUP opens the JSON log file again at its path (after a rotation moved it away), as daemons do; the host goes on.
using var reopenLog = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, signal =>
{
    signal.Cancel = true;
    if (jsonLog?.Reopen() == false) Log.Warning("SIGHUP: the log file could not be opened again; writing on to the one open");
});

try
{
    if (logLevelError is not null) throw new InvalidOperationException(logLevelError);
    var settings = HostSettings.FromEnvironment();
    var cluster = ClusterSettings.FromEnvironment();
    cluster.Check(settings.Journal);
    var remotingCertificate = RemotingCertificate.Load(cluster, settings.DataDir);
    Log.Information("Remoting: TLS with mutual authentication, peers admitted by the certificate {Thumbprint}", remotingCertificate.Thumbprint);
    // Actor systems outside the cluster trusted with tokens, by name and the SHA-256 of their secret (README, "Trusted clients").
    var trustedClients = Supervisor.Actors.Clients.TrustedClients.Parse(Environment.GetEnvironmentVariable("SUPERVISOR_TRUSTED_CLIENTS"));
    if (trustedClients.Count > 0) Log.Information("Clients outside the cluster trusted with tokens: {TrustedClients}", trustedClients.Count);
    var config = SupervisorConfig.Load(settings.Journal, settings.ConnectionString, settings.TokenKeys,
        $"akka.loglevel = {LogLevelSetting.AkkaLevelOf(logLevel)}\n" + Environment.GetEnvironmentVariable("SUPERVISOR_HOCON"), cluster.Hocon());
    var accountSettings = SupervisorConfig.AccountSettingsOf(config);
    var journal = new JournalHealth();
    var metrics = new SupervisorMetrics(journal);
    var outbound = OutboundAddresses.From(config.GetConfig("supervisor.outbound"));
    var client = PdsClient.Create(accountSettings.RequestTimeout, metrics: metrics, outbound: outbound);
    var limits = new ServerLimits(accountSettings.ServerLimits);
    var askTimeout = accountSettings.RequestTimeout * 3;
    var proxySettings = ProxySettings.From(config.GetConfig("supervisor.proxy"));
    var keySessionLimits = KeySessionLimits.From(config);
    var actorSystemEnd = new ActorSystemEnd();
    var proxy = new XrpcPassThrough(client, proxySettings, limits, accountSettings.RequestTimeout, askTimeout, actorSystemEnd);
    var keyIndex = new AccountKeyIndex();
    var sessionEvents = new SessionEventFeed(limits: FeedReaderLimits.From(config.GetConfig("supervisor.events")));
    var history = new AccountHistory(settings.Journal, settings.ConnectionString);
    var identity = config.GetBoolean("supervisor.identity.verify", true)
        ? IdentityResolver.Create(IdentitySettings.From(config.GetConfig("supervisor.identity")), outbound)
        : null;

    var builder = WebApplication.CreateBuilder(args);
    var urls = builder.Configuration["urls"] is { Length: > 0 } configured ? configured : "http://127.0.0.1:5080";
    var listenUrls = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    settings.CheckListenAddresses(listenUrls);
    var hostNames = HostNames.Allowed.From(Environment.GetEnvironmentVariable("SUPERVISOR_HOST_NAMES"), listenUrls, [System.Net.Dns.GetHostName(), cluster.Host]);
    builder.WebHost.UseUrls(urls);
    // Uploads raise it for their own requests (XrpcPassThrough).
    var connectionCap = ConnectionCap.Of(proxySettings.MaxConnections, ConnectionCap.OpenFileLimit());
    builder.WebHost.ConfigureKestrel(k =>
    {
        k.Limits.MaxRequestBodySize = proxySettings.BodyLimit;
        // A connection past the cap is closed as it comes: the rest of the file descriptors stay with the journal and the PDSes.
        k.Limits.MaxConcurrentConnections = connectionCap;
    });
    // At most 64 KiB of a request read ahead per connection: an upload to a PDS slower than its client waits in the
    // client's socket, not in the supervisor's memory (the default is 1 MiB a connection).
    builder.WebHost.UseSockets(o => o.MaxReadBufferSize = 64 * 1024);
    builder.Services.AddSingleton(keyIndex);
    builder.Services.AddSerilog();
    builder.Services.AddSupervisorTelemetry(metrics, builder.Configuration);
    builder.Services.AddSupervisorHealth(journal);
    // Room for the drain on SIGTERM (see coordinated-shutdown in hocon/supervisor.conf).
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = accountSettings.RequestTimeout + TimeSpan.FromSeconds(30));
    ActorSystem? actorSystem = null;
    HostOptions? hostOptions = null;
    builder.Services.AddAkka(ClusterSettings.SystemName, akka =>
    {
        akka.AddHocon(config, HoconAddMode.Prepend);
        // Only a peer that presents the cluster's certificate (pinned by thumbprint) gets through (RemotingCertificate).
        akka.AddSetup(Supervisor.Actors.Cluster.RemotingTls.Setup(remotingCertificate));
        akka.ConfigureLoggers(loggers =>
        {
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });
        akka.WithActors((system, registry) =>
        {
            actorSystem = system;
            actorSystemEnd.Watch(system);
            // The audit trail and the account keys are one each in the cluster (singletons, reached through their
            // proxies); every node reads the keys from a replica of its own (AccountKeysReplica).
            var audit = ClusterSingletons.Start(system, Props.Create(() => new RestartingChild(AuditTrail.Props(), "trail")), "audit");
            registry.Register<AuditTrail>(audit);
            var keys = ClusterSingletons.Start(system, Props.Create(() => new RestartingChild(AccountKeys.Props(audit, null, keySessionLimits), "keys")), "account-keys");
            registry.Register<AccountKeys>(keys);
            system.ActorOf(AccountKeysReplica.Props(keyIndex, keys), "account-keys-replica");
            var accounts = system.ActorOf(AccountsSupervisor.Props(client, accountSettings, metrics, journal: journal, limits: limits, audit: audit, identity: identity), AccountsSupervisor.Name);
            registry.Register<AccountsSupervisor>(accounts);
            // Actor systems outside the cluster reach the accounts through ClusterClient (README, "Integrating from another actor system").
            var clients = system.ActorOf(Supervisor.Actors.Clients.ClientGateway.Props(accounts, new Supervisor.Actors.Clients.PdsCalls(client, limits, accountSettings.RequestTimeout, askTimeout, proxySettings.SessionMethods, proxySettings.PrivilegedMethods, proxySettings.MaxInFlight), trustedClients), Supervisor.Actors.Clients.ClientGateway.Name);
            Akka.Cluster.Tools.Client.ClusterClientReceptionist.Get(system).RegisterService(clients);
            registry.Register<SessionEventFeedActor>(system.ActorOf(SessionEventFeedActor.Props(sessionEvents, accounts), "session-event-feed"));
            var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
            var historyWriter = system.ActorOf(AccountHistoryWriter.Props(history, accounts, $"{self.Host}:{self.Port}", metrics, config), "account-history");
            // What waits for the history is written before the actor system goes (after the accounts drained or left).
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "write-account-history", async () =>
            {
                await historyWriter.Ask<AccountHistoryWriter.Flush>(AccountHistoryWriter.Flush.Instance, TimeSpan.FromSeconds(10));
                return Done.Instance;
            });
            // When the actor system stops by itself (downed by the cluster, a token key that cannot read the journal) nothing
            // is left to drain, and a request in flight waits on an actor that is gone: the host then gives such requests
            // 5 s, instead of the drain's room, before it exits (set here, before the host's stop begins).
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "stop-without-drain", () =>
            {
                if (hostOptions is not null && CoordinatedShutdown.Get(system).ShutdownReason is CoordinatedShutdown.ClusterDowningReason or TokenKeyShutdownReason)
                    hostOptions.ShutdownTimeout = TimeSpan.FromSeconds(5);
                return Task.FromResult(Done.Instance);
            });
            // On SIGTERM: refreshes in flight finish and are journaled before the journal goes away. In a cluster with
            // other nodes up the accounts are handed over instead (each finishes what is in flight, then starts on
            // another node), and keep serving until then.
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "drain-accounts", async () =>
            {
                var self = Akka.Cluster.Cluster.Get(system);
                if (self.State.Members.Any(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(Supervisor.Actors.Cluster.ClusterRoles.Supervisor) && !m.Address.Equals(self.SelfAddress)))
                {
                    Log.Information("Shutdown: the accounts of this node are handed over to the other nodes");
                    return Done.Instance;
                }
                var drained = await accounts.Ask<AccountsSupervisor.AccountsDrained>(
                    new AccountsSupervisor.DrainAccounts(accountSettings.RequestTimeout), accountSettings.RequestTimeout + TimeSpan.FromSeconds(5));
                Log.Information("Shutdown: {AccountCount} accounts drained", drained.Count);
                return Done.Instance;
            });
        });
    });

    var app = builder.Build();
    // Outermost: every request counts, and its line is written with the request's activity current (trace id in the
    // log) and the final status.
    app.UseMiddleware<RequestTelemetry>();
    app.UseSupervisorMetrics();
    app.UseMiddleware<SecurityHeaders>();
    app.UseMiddleware<HostNames>(hostNames);
    // Whatever fails inside a request is answered as JSON, without details; an actor that does not answer in time is a 504.
    // A request the client broke (a body that is not HTTP's framing, too long) is its own fault, answered 400 or 413
    // without the error line and stack trace the middleware writes otherwise: anyone reaching the port could fill the log.
    app.UseExceptionHandler(new ExceptionHandlerOptions
    {
        SuppressDiagnosticsCallback = failed => failed.Exception is BadHttpRequestException,
        ExceptionHandler = async context =>
        {
            var answer = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error switch
            {
                AskTimeoutException => ApiJson.Error(504, "Timeout", "the supervisor did not answer in time"),
                OperationCanceledException when actorSystemEnd.HasEnded => ApiJson.Error(503, "ShuttingDown", "this node has stopped; send the request to another node"),
                BadHttpRequestException { StatusCode: 413 } => ApiJson.Error(413, "PayloadTooLarge", $"the request body is larger than {proxySettings.BodyLimit} bytes"),
                BadHttpRequestException bad => ApiJson.Error(bad.StatusCode, "InvalidRequest", "the request could not be read"),
                _ => ApiJson.Error(500, "InternalError", "the request failed inside the supervisor; see its log"),
            };
            await answer.ExecuteAsync(context);
        },
    });
    app.UseMiddleware<ApiAuthentication>(settings.AdminToken, settings.OperatorPassword, keyIndex);
    app.MapAccountsApi(askTimeout, actorSystemEnd, journal, limits, proxy);
    app.MapPdsApi(proxy, SessionJwt.FromTokenKeys(settings.TokenKeys), keyIndex, askTimeout, actorSystemEnd);
    app.MapKeysApi(proxySettings, askTimeout, actorSystemEnd);
    app.MapEvents(sessionEvents, askTimeout, actorSystemEnd);
    app.MapSupervisorHealth();
    app.MapStatusPage(askTimeout, actorSystemEnd, journal, limits, history);
    Log.Information("Supervisor starting: journal {Journal}, data folder {DataDir}, at most {MaxConnections} HTTP connections",
        settings.Journal, settings.DataDir, connectionCap?.ToString() ?? "unlimited");
    if (settings.AdminTokenGenerated)
        Log.Information("Admin token kept in {AdminTokenFile} (set SUPERVISOR_ADMIN_TOKEN to choose one)", HostSettings.AdminTokenFile(settings.DataDir));
    if (Environment.GetEnvironmentVariable("SUPERVISOR_OPERATOR_PASSWORD") is not { Length: > 0 })
        Log.Information("Status page password kept in {OperatorPasswordFile} (set SUPERVISOR_OPERATOR_PASSWORD to choose one)", HostSettings.OperatorPasswordFile(settings.DataDir));
    // The actor system stops itself when the token key cannot read the journal, or when the cluster downed this node:
    // the host goes with it.
    app.Lifetime.ApplicationStarted.Register(() => actorSystem?.WhenTerminated.ContinueWith(_ => app.Lifetime.StopApplication(), TaskScheduler.Default));
    hostOptions = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HostOptions>>().Value;
    await app.RunAsync();
    switch (actorSystem is null ? null : CoordinatedShutdown.Get(actorSystem).ShutdownReason)
    {
        case TokenKeyShutdownReason wrongKey:
            Log.Fatal("Supervisor stopped: {Reason}", wrongKey.Message);
            return 1;
        case CoordinatedShutdown.ClusterDowningReason:
            // Cut off or paused past the failure detector, on the side the split-brain resolver removes: started again,
            // it joins the cluster as a new incarnation.
            Log.Error("Supervisor stopped: the cluster downed this node; start it again to rejoin");
            return 3;
        default:
            return 0;
    }
}
catch (Exception e) when (e is InvalidOperationException or IOException or FormatException or Akka.Configuration.ConfigurationException)
{
    Log.Fatal("Supervisor cannot start: {Reason}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}

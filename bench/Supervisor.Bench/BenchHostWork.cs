using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Serilog;
using Serilog.Events;
using Supervisor.Actors.Account;
using Supervisor.Host.Http;
using Supervisor.Host.Logging;
using Supervisor.Host.Proxy;
using Supervisor.Host.Telemetry;

namespace Supervisor.Bench;

/// <summary>
/// The per-request work of the supervisor's host, given to <see cref="BenchYarp"/> to measure what it costs a plain reverse
/// proxy: the caller's bearer checked against a hash in constant time, the token borrowed from an actor of the process
/// for each request and given back as the answer starts (two messages through its mailbox, the borrow answered to a
/// <see cref="LocalReply"/>, as the host's loan), and the host's own middleware: the request's metrics and log line
/// (<see cref="RequestTelemetry"/>, into <see cref="HostLog"/>'s console writer) and <see cref="SecurityHeaders"/>.
/// It leaves out what only the host does (the PDS's rate limits, the account's requests in flight, the headers'
/// allow-lists and the answer's checks), so that what it costs YARP is less than what the host pays for the same.
/// </summary>
public sealed class BenchHostWork : IAsyncDisposable
{
    private static readonly TimeSpan BorrowTimeout = TimeSpan.FromSeconds(30);

    private readonly ActorSystem _system;
    private readonly IInternalActorRef _lender;
    private readonly byte[] _callerHash;
    private readonly string _accessToken;

    private BenchHostWork(string accessToken, string callerToken, IReadOnlySet<string> parts)
    {
        _system = ActorSystem.Create("bench-yarp", "akka.loglevel = WARNING");
        _lender = (IInternalActorRef)_system.ActorOf(Props.Create(() => new Lender(accessToken)), "lender");
        _callerHash = SHA256.HashData(Encoding.UTF8.GetBytes(callerToken));
        _accessToken = accessToken;
        Parts = parts;
    }

    /// <summary>The parts of the work done: <c>loan</c>, <c>auth</c>, <c>telemetry</c>, <c>headers</c> (all by default).</summary>
    public IReadOnlySet<string> Parts { get; }

    /// <summary>
    /// Adds the host's metrics and log to <paramref name="builder"/> (the log's lines go to standard output), for the parts
    /// named in <c>BENCH_YARP_WORK</c> (comma-separated; all when unset).
    /// </summary>
    public static BenchHostWork Add(WebApplicationBuilder builder, string accessToken, string callerToken)
    {
        var named = Environment.GetEnvironmentVariable("BENCH_YARP_WORK");
        var parts = (string.IsNullOrWhiteSpace(named) ? "loan,auth,telemetry,headers" : named).Split(',', StringSplitOptions.TrimEntries).ToHashSet();
        if (parts.Contains("telemetry"))
        {
            // At the host's level (SUPERVISOR_LOG_LEVEL, inherited from the bench as the host inherits it).
            var level = LogLevelSetting.Parse(Environment.GetEnvironmentVariable(LogLevelSetting.Variable), out _) ?? LogEventLevel.Information;
            Log.Logger = HostLog.Configure(level, Console.OpenStandardOutput(), null).CreateLogger();
            builder.Services.AddSupervisorTelemetry(new SupervisorMetrics(), builder.Configuration);
        }
        return new BenchHostWork(accessToken, callerToken, parts);
    }

    /// <summary>The host's middleware, in the host's order: telemetry first, then the security headers, then the caller's check.</summary>
    public void Use(WebApplication app)
    {
        if (Parts.Contains("telemetry"))
        {
            app.UseSupervisorMetrics();
            app.UseMiddleware<RequestTelemetry>();
        }
        if (Parts.Contains("headers")) app.UseMiddleware<SecurityHeaders>();
        // The bench's own /bench/runtime and /metrics are open, as the host's /metrics is.
        if (Parts.Contains("auth"))
            app.Use((context, next) => !context.Request.Path.StartsWithSegments("/xrpc") || Authenticated(context) ? next(context) : Refuse(context));
    }

    /// <summary>The access token, borrowed from the lender for one request (without the loan, the token itself).</summary>
    public async ValueTask<string> BorrowAsync() =>
        Parts.Contains("loan") ? (string)await LocalReply.Ask(_lender, Lender.Borrow).Answer.WaitAsync(BorrowTimeout) : _accessToken;

    /// <summary>Gives the borrowed token back.</summary>
    public void GiveBack()
    {
        if (Parts.Contains("loan")) _lender.Tell(Lender.Return, ActorRefs.NoSender);
    }

    private bool Authenticated(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return false;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(header[7..]), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _callerHash);
    }

    private static Task Refuse(HttpContext context)
    {
        context.Response.StatusCode = 401;
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
        await Log.CloseAndFlushAsync();
    }

    /// <summary>Lends its token to each borrower and counts the loans out, as an account does.</summary>
    private sealed class Lender(string token) : UntypedActor
    {
        public static readonly object Borrow = "borrow";
        public static readonly object Return = "return";

        private int _out;

        protected override void OnReceive(object message)
        {
            if (ReferenceEquals(message, Borrow))
            {
                _out++;
                Sender.Tell(token);
            }
            else if (ReferenceEquals(message, Return)) _out--;
            else Unhandled(message);
        }
    }
}

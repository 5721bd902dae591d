using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Yarp.ReverseProxy.Transforms;

namespace Supervisor.Bench;

/// <summary>
/// A minimal reverse proxy with YARP's direct forwarding (<c>IHttpForwarder</c> through <c>MapForwarder</c>) on a
/// loopback port in the bench process: /xrpc/* goes to one server, with one bearer token set by a request transform.
/// The yardstick for the supervisor's own pass-through.
/// </summary>
public sealed class BenchYarp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchYarp(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The proxy's base address.</summary>
    public string Url { get; }

    /// <summary>Starts a proxy to <paramref name="destination"/> that sends <paramref name="accessToken"/> as the bearer.</summary>
    public static async Task<BenchYarp> StartAsync(string destination, string accessToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var bearer = new AuthenticationHeaderValue("Bearer", accessToken);
        app.MapForwarder("/xrpc/{**rest}", destination, transforms => transforms.AddRequestTransform(context =>
        {
            context.ProxyRequest.Headers.Authorization = bearer;
            return ValueTask.CompletedTask;
        }));
        // What the process allocated and how many thread-pool work items it ran so far, as the supervisor's host exports them
        // (GC.GetTotalAllocatedBytes, ThreadPool.CompletedWorkItemCount): read between rounds, not on the path measured.
        app.MapGet("/bench/runtime", () => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{GC.GetTotalAllocatedBytes()} {ThreadPool.CompletedWorkItemCount} {GC.GetTotalPauseDuration().TotalSeconds}"));
        await app.StartAsync();
        return new BenchYarp(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

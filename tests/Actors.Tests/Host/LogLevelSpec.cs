using System.Net;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// <c>SUPERVISOR_LOG_FILE</c> is appended to and opened again on SIGHUP; <c>SUPERVISOR_LOG_LEVEL</c> sets the lowest level the host writes, to its console and its JSON log alike (at Debug
/// still without a token); an unknown level stops the start with a message that names the levels.
/// </summary>
public sealed class LogLevelSpec : FakePdsHostSpec
{
    /// <summary>Whether <paramref name="line"/> of the JSON log is the line of a request to <paramref name="route"/>.</summary>
    private static bool IsLineOf(System.Text.Json.JsonElement line, string route) =>
        line.TryGetProperty("Route", out var r) && r.GetString()!.TrimEnd('/') == route && line.GetProperty("@mt").GetString()!.StartsWith("HTTP ", StringComparison.Ordinal);

    [Fact]
    public async Task SIGHUP_opens_the_JSON_log_file_again_at_its_path_after_a_rotation_moved_it_and_the_host_goes_on()
    {
        await using var host = await StartHostAsync();
        using (var before = await host.Http.GetAsync("/accounts")) Assert.True(before.IsSuccessStatusCode);
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(host.LogLines().Any(l => IsLineOf(l, "/accounts"))), TimeSpan.FromSeconds(10), "the first request's line");

        // As logrotate does: the file moved away, then the signal.
        var rotated = host.LogFile + ".1";
        File.Move(host.LogFile, rotated);
        using (var hup = System.Diagnostics.Process.Start("kill", $"-HUP {host.ProcessId}")) await hup.WaitForExitAsync();
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(File.Exists(host.LogFile)), TimeSpan.FromSeconds(10), "a new file at the path");
        using (var after = await host.Http.GetAsync("/status")) Assert.True(after.IsSuccessStatusCode);
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(host.LogLines().Any(l => IsLineOf(l, "/status"))), TimeSpan.FromSeconds(10), "the next request's line, in the new file");

        Assert.False(host.HasExited);
        Assert.DoesNotContain(host.LogLines(), l => IsLineOf(l, "/accounts"));
        var moved = File.ReadAllLines(rotated).Where(t => t.StartsWith('{')).Select(t => System.Text.Json.JsonDocument.Parse(t).RootElement).ToList();
        Assert.Contains(moved, l => IsLineOf(l, "/accounts"));
        Assert.DoesNotContain(moved, l => IsLineOf(l, "/status"));
    }

    [Fact]
    public async Task The_JSON_log_file_is_appended_to_so_a_restart_keeps_the_lines_of_the_run_before()
    {
        await using var host = await StartHostAsync();
        using (var first = await host.Http.GetAsync("/accounts")) Assert.True(first.IsSuccessStatusCode);
        Assert.Equal(0, await host.TerminateAsync());
        Assert.Contains(host.LogLines(), l => IsLineOf(l, "/accounts"));

        await host.StartAsync();
        using (var second = await host.Http.GetAsync("/status")) Assert.True(second.IsSuccessStatusCode);
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(host.LogLines().Any(l => IsLineOf(l, "/status"))), TimeSpan.FromSeconds(10), "the second run's line");
        Assert.Contains(host.LogLines(), l => IsLineOf(l, "/accounts"));
    }

    [Fact]
    public async Task At_Warning_the_host_writes_neither_its_start_nor_a_line_for_each_request()
    {
        await using var host = await StartAsync("warning");
        using (var answer = await host.Http.GetAsync("/accounts"))
            Assert.True(answer.IsSuccessStatusCode);
        Assert.Equal(0, await host.TerminateAsync());

        Assert.DoesNotContain("INF]", host.Output);
        Assert.DoesNotContain("HTTP GET", host.Output);
        Assert.DoesNotContain(host.LogLines(), line => line.GetProperty("@mt").GetString()!.StartsWith("HTTP ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task At_Debug_the_host_also_writes_the_lines_of_its_health_probes_and_Akkas_debug_lines_and_still_no_token()
    {
        await using var host = await StartAsync("Debug");
        using (var answer = await host.Http.GetAsync("/healthz"))
            Assert.True(answer.IsSuccessStatusCode);
        // A session's whole life at Debug: login, a call passed through, a refresh, a logout.
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        using (var call = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession"))
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        using (var refresh = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        using (var logout = await host.Http.DeleteAsync($"/accounts/{alice.Did}"))
            Assert.True(logout.IsSuccessStatusCode);
        Assert.Equal(0, await host.TerminateAsync());

        Assert.Empty(Secrets.JwtsIn(host.Output));
        Assert.Empty(Secrets.JwtsIn(File.ReadAllText(host.LogFile)));
        Assert.DoesNotContain(alice.Password, host.Output);

        Assert.Contains("DBG] HTTP GET /healthz answered 200", host.Output);
        Assert.Contains("INF] Supervisor starting", host.Output);
        // Akka's own debug lines too (akka.loglevel follows).
        Assert.Contains("DBG] Creating singleton identification timer", host.Output);
    }

    [Fact]
    public async Task An_unknown_level_stops_the_start_with_a_message_naming_the_levels()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync("loud"));
        Assert.Contains("the supervisor exited with 1", refused.Message);
        Assert.Contains("SUPERVISOR_LOG_LEVEL must be one of Verbose, Debug, Information, Warning, Error, Fatal, not 'loud'", refused.Message);
    }

    private async Task<SupervisorProcess> StartAsync(string level)
    {
        var environment = Folder.HostEnvironment();
        environment["SUPERVISOR_LOG_LEVEL"] = level;
        var host = new SupervisorProcess(Folder.Folder, environment);
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }
}

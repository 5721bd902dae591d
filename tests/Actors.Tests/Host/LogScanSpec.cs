using System.Diagnostics;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The scan of a run's logs for secrets (scripts/scan-logs.js, which scripts/test counts as one more test) can fail: it
/// finds a token or a registered secret in a host's log, and a whole run whose hosts' logs or specs' secrets did not
/// reach it fails rather than passing having searched nothing that matters.
/// </summary>
public sealed class LogScanSpec : IDisposable
{
    private readonly DirectoryInfo _results = Directory.CreateTempSubdirectory("log-scan-");

    public void Dispose() => _results.Delete(recursive: true);

    [Fact]
    public async Task The_log_scan_finds_a_token_and_a_registered_secret_in_a_hosts_log_and_fails_a_whole_run_that_has_no_host_log()
    {
        var logs = Directory.CreateDirectory(Path.Combine(_results.FullName, "host-logs")).FullName;
        await File.WriteAllTextAsync(Path.Combine(_results.FullName, "dotnet-test.log"), "Passed Some.Spec\n");

        // The test output alone: a part of the suite passes; the whole suite fails, as no host's log or secret reached it.
        Assert.Equal(0, (await ScanAsync()).Code);
        var (code, error) = await ScanAsync("--whole-run");
        Assert.Equal(1, code);
        Assert.Contains("0 host logs and 0 files of registered secrets", error);

        // A host's log holding a registered password and a token: both found, neither printed.
        const string Password = "canary-password-7Q2K";
        var token = TestJwt.Access("did:plc:abcdefghijklmnopqrstuvwx", DateTimeOffset.UtcNow.AddHours(2));
        await File.WriteAllTextAsync(Path.Combine(logs, "registered-1.secrets"), $"password\t{Password}\n");
        var log = Path.Combine(logs, "host-1.clef");
        await File.WriteAllTextAsync(log, $$"""{"@m":"login with {{Password}}","token":"{{token}}"}""" + "\n");
        (code, error) = await ScanAsync("--whole-run");
        Assert.Equal(1, code);
        Assert.Contains($"1 registered passwords in {Path.Combine("host-logs", "host-1.clef")}", error);
        Assert.Contains($"1 JWT-shaped strings in {Path.Combine("host-logs", "host-1.clef")}", error);
        Assert.True(!error.Contains(Password) && !error.Contains(token), "the scan printed a secret");

        // The same log without them: the whole run passes.
        await File.WriteAllTextAsync(log, """{"@m":"login"}""" + "\n");
        Assert.Equal(0, (await ScanAsync("--whole-run")).Code);
    }

    private async Task<(int Code, string Error)> ScanAsync(params string[] options)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(Path.Combine(BrowserScript.RepositoryRoot, "scripts", "scan-logs.js"));
        info.ArgumentList.Add(_results.FullName);
        foreach (var option in options) info.ArgumentList.Add(option);
        using var scan = Process.Start(info)!;
        var error = scan.StandardError.ReadToEndAsync();
        await scan.StandardOutput.ReadToEndAsync();
        await scan.WaitForExitAsync();
        return (scan.ExitCode, await error);
    }
}

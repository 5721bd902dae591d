using System.Diagnostics;
using System.Text.Json;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Runs one of the node scripts in tests/browser through scripts/browser (Debian's headless Chromium driven by
/// puppeteer-core; scripts/browser installs the packages on first use): the settings go in as JSON on stdin, the
/// script's findings come back as its last line of JSON on stdout.
/// </summary>
public static class BrowserScript
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>The repository's root: the folder above the test binaries that holds Supervisor.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Supervisor.sln"))) return dir.FullName;
            throw new InvalidOperationException($"no Supervisor.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Runs tests/browser/<paramref name="script"/> with <paramref name="settings"/>; its findings.</summary>
    public static async Task<JsonElement> RunAsync(string script, object settings)
    {
        Assert.True(File.Exists(Chromium), "Debian's chromium is needed (scripts/test installs it)");
        var info = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(RepositoryRoot, "scripts", "browser"), script },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("scripts/browser did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(JsonSerializer.Serialize(settings));
        process.StandardInput.Close();
        // The first run installs the packages (about a minute on a busy machine); a browser run takes seconds.
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"scripts/browser {script} did not finish within 5 minutes:\n{await error}");
            }
        }
        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var last = lines.LastOrDefault(l => l.StartsWith('{'));
        Assert.True(process.ExitCode == 0 && last is not null,
            $"scripts/browser {script} exited with {process.ExitCode}:\n{last}\n{await error}");
        using var findings = JsonDocument.Parse(last!);
        return findings.RootElement.Clone();
    }
}

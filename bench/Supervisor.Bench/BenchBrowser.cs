using System.Diagnostics;
using System.Text.Json;

namespace Supervisor.Bench;

/// <summary>
/// Runs a node script of tests/browser through scripts/browser (Debian's headless Chromium, /usr/bin/chromium, driven
/// by puppeteer-core; scripts/browser installs the packages on first use): the settings go in as JSON on stdin (secrets
/// included: never printed), the findings come back as the script's last line of JSON on stdout.
/// </summary>
public static class BenchBrowser
{
    /// <summary>Runs tests/browser/<paramref name="script"/> with <paramref name="settings"/>; its findings.</summary>
    public static async Task<JsonElement> RunAsync(string script, object settings)
    {
        if (!File.Exists("/usr/bin/chromium") && Environment.GetEnvironmentVariable("CHROMIUM") is null)
            throw new InvalidOperationException("Debian's chromium is needed (apt-get install chromium; scripts/test installs it)");
        var root = RepositoryRoot();
        var info = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(root, "scripts", "browser"), script },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("scripts/browser did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(JsonSerializer.Serialize(settings));
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        var last = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || last is null)
            throw new InvalidOperationException($"scripts/browser {script} exited with {process.ExitCode}:\n{last}\n{await error}");
        using var findings = JsonDocument.Parse(last);
        return findings.RootElement.Clone();
    }

    /// <summary>The folder above the benchmark's binaries that holds Supervisor.sln.</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Supervisor.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Supervisor.sln above {AppContext.BaseDirectory}");
    }
}

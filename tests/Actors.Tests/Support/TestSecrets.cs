namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Registers the secrets the specs create (passwords, token keys, admin tokens) for scripts/scan-logs.js,
/// which looks for each in every log of the run: one "kind TAB value" a line in a <c>*.secrets</c> file under
/// SUPERVISOR_TEST_LOG_DIR (set by scripts/test). Without that variable nothing is written.
/// </summary>
public static class TestSecrets
{
    /// <summary>How the files the scan reads secrets from (and does not scan) end.</summary>
    public const string FileSuffix = ".secrets";

    private static readonly object Gate = new();
    private static readonly HashSet<string> Written = new(StringComparer.Ordinal);

    /// <summary>A password a spec gave an account (on the fake or the real PDS).</summary>
    public static string Password(string password)
    {
        Register("password", password);
        return password;
    }

    /// <summary>Registers <paramref name="secret"/> under <paramref name="kind"/> (password, token-key, admin-token, operator-password).</summary>
    public static void Register(string kind, string? secret)
    {
        // (One a line, after its kind and a tab: a secret may hold a tab, not a line break.)
        if (string.IsNullOrWhiteSpace(secret) || secret.Contains('\n') || secret.Contains('\r')) return;
        if (Environment.GetEnvironmentVariable("SUPERVISOR_TEST_LOG_DIR") is not { Length: > 0 } folder) return;
        lock (Gate)
        {
            if (!Written.Add(kind + "\t" + secret)) return;
            Directory.CreateDirectory(folder);
            File.AppendAllText(Path.Combine(folder, $"registered-{Environment.ProcessId}{FileSuffix}"), $"{kind}\t{secret}\n");
        }
    }
}

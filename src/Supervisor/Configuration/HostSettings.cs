namespace Supervisor.Host.Configuration;

/// <summary>
/// The host's environment settings: where local state lives, which journal to use, and the admin token.
/// </summary>
public sealed record HostSettings(string DataDir, JournalKind Journal, string ConnectionString, string AdminToken, bool AdminTokenGenerated)
{
    /// <summary>The file the generated admin token is kept in (owner-only permissions).</summary>
    public static string AdminTokenFile(string dataDir) => Path.Combine(dataDir, "admin-token");

    /// <summary>
    /// Reads SUPERVISOR_DATA_DIR (default ./data), SUPERVISOR_JOURNAL (sqlite | postgres),
    /// SUPERVISOR_POSTGRES and SUPERVISOR_ADMIN_TOKEN; generates and keeps an admin token when none is set.
    /// </summary>
    public static HostSettings FromEnvironment()
    {
        var dataDir = Path.GetFullPath(Environment.GetEnvironmentVariable("SUPERVISOR_DATA_DIR") is { Length: > 0 } d ? d : "data");
        Directory.CreateDirectory(dataDir);
        var journal = (Environment.GetEnvironmentVariable("SUPERVISOR_JOURNAL") ?? "sqlite").Trim().ToLowerInvariant() switch
        {
            "sqlite" or "" => JournalKind.Sqlite,
            "postgres" or "postgresql" => JournalKind.Postgres,
            var other => throw new InvalidOperationException($"SUPERVISOR_JOURNAL must be 'sqlite' or 'postgres', not '{other}'"),
        };
        var connection = journal == JournalKind.Sqlite
            ? SupervisorConfig.SqliteConnection(Path.Combine(dataDir, "journal.db"))
            : Environment.GetEnvironmentVariable("SUPERVISOR_POSTGRES") is { Length: > 0 } pg
                ? pg
                : throw new InvalidOperationException("SUPERVISOR_JOURNAL=postgres needs SUPERVISOR_POSTGRES (a connection string)");
        var (token, generated) = AdminTokenOf(dataDir);
        return new HostSettings(dataDir, journal, connection, token, generated);
    }

    private static (string Token, bool Generated) AdminTokenOf(string dataDir)
    {
        if (Environment.GetEnvironmentVariable("SUPERVISOR_ADMIN_TOKEN") is { Length: > 0 } given) return (given, false);
        var file = AdminTokenFile(dataDir);
        if (File.Exists(file)) return (File.ReadAllText(file).Trim(), true);
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        File.WriteAllText(file, "");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(file, token);
        return (token, true);
    }
}

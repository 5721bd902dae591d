namespace Supervisor.Host.Configuration;

/// <summary>
/// The host's environment settings: where local state lives, which journal to use, and the admin token.
/// </summary>
public sealed record HostSettings(
    string DataDir, JournalKind Journal, string ConnectionString, string AdminToken, bool AdminTokenGenerated, IReadOnlyList<string> TokenKeys,
    string OperatorPassword = "")
{
    /// <summary>
    /// Refuses to listen beyond loopback unless SUPERVISOR_ADMIN_TOKEN was set explicitly: a generated token
    /// in a file is fine on one machine, not for a network.
    /// </summary>
    public void CheckListenAddresses(IEnumerable<string> urls)
    {
        if (!AdminTokenGenerated) return;
        foreach (var url in urls)
        {
            var host = url.Split("://", 2)[^1].Split('/')[0];
            host = host.StartsWith('[') ? host[..(host.IndexOf(']') + 1)] : host.Split(':')[0];
            var loopback = host is "localhost" or "[::1]" || System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip);
            if (!loopback)
                throw new InvalidOperationException($"refusing to listen on {url} (not loopback) without an explicit SUPERVISOR_ADMIN_TOKEN");
        }
    }

    /// <summary>What a log line or an exception may show of the settings: not the admin token, the operator password, the
    /// token keys or the connection string (its password).</summary>
    public override string ToString() =>
        $"HostSettings {{ DataDir = {DataDir}, Journal = {Journal}, AdminTokenGenerated = {AdminTokenGenerated}, TokenKeys = {TokenKeys.Count} }}";

    /// <summary>The fewest characters an admin token or operator password may have.</summary>
    public const int MinSecretLength = 24;

    /// <summary>The file of the generated token keys (one base64 key a line, the first current; owner-only).</summary>
    public static string TokenKeyFile(string dataDir) => Path.Combine(dataDir, "token-keys");

    /// <summary>The file the generated operator password (the status page's read-only credential) is kept in (owner-only).</summary>
    public static string OperatorPasswordFile(string dataDir) => Path.Combine(dataDir, "operator-password");

    /// <summary>The file the generated admin token is kept in (owner-only permissions).</summary>
    public static string AdminTokenFile(string dataDir) => Path.Combine(dataDir, "admin-token");

    /// <summary>
    /// Reads SUPERVISOR_DATA_DIR (default ./data), SUPERVISOR_JOURNAL (sqlite | postgres),
    /// SUPERVISOR_POSTGRES and SUPERVISOR_ADMIN_TOKEN; generates and keeps an admin token when none is set.
    /// Sets the process umask to 077 and makes the data folder (0700) and the files already in it, the journal among them (0600), owner-only.
    /// </summary>
    public static HostSettings FromEnvironment()
    {
        var dataDir = Path.GetFullPath(Environment.GetEnvironmentVariable("SUPERVISOR_DATA_DIR") is { Length: > 0 } d ? d : "data");
        // Tokens are encrypted, but emails and handles are not: everything created from here on is owner-only.
        OwnerOnly.RestrictUmask();
        OwnerOnly.CreateFolder(dataDir);
        var journal = (Environment.GetEnvironmentVariable("SUPERVISOR_JOURNAL") ?? "sqlite").Trim().ToLowerInvariant() switch
        {
            "sqlite" or "" => JournalKind.Sqlite,
            "postgres" or "postgresql" => JournalKind.Postgres,
            var other => throw new InvalidOperationException($"SUPERVISOR_JOURNAL must be 'sqlite' or 'postgres', not '{other}'"),
        };
        // The journal (and its -wal, -shm) and anything else an earlier start left there, e.g. under umask 022.
        foreach (var file in Directory.EnumerateFiles(dataDir)) OwnerOnly.TightenFile(file);
        var connection = journal == JournalKind.Sqlite
            ? SupervisorConfig.PrepareSqliteJournal(Path.Combine(dataDir, "journal.db"))
            : Environment.GetEnvironmentVariable("SUPERVISOR_POSTGRES") is { Length: > 0 } pg
                ? pg
                : throw new InvalidOperationException("SUPERVISOR_JOURNAL=postgres needs SUPERVISOR_POSTGRES (a connection string)");
        var (token, generated) = SecretOf(dataDir, "SUPERVISOR_ADMIN_TOKEN", AdminTokenFile(dataDir));
        var (operatorPassword, _) = SecretOf(dataDir, "SUPERVISOR_OPERATOR_PASSWORD", OperatorPasswordFile(dataDir));
        if (operatorPassword == token) throw new InvalidOperationException("SUPERVISOR_OPERATOR_PASSWORD must not be the admin token: it opens the status page only");
        // Secrets that a network client could guess are refused: the generated ones are 256 bits.
        foreach (var (name, secret) in new[] { ("SUPERVISOR_ADMIN_TOKEN", token), ("SUPERVISOR_OPERATOR_PASSWORD", operatorPassword) })
            if (secret.Length < MinSecretLength)
                throw new InvalidOperationException($"{name} is shorter than {MinSecretLength} characters: set a longer one (openssl rand -hex 32), or unset it to have one generated");
        return new HostSettings(dataDir, journal, connection, token, generated, TokenKeysOf(dataDir), operatorPassword);
    }

    /// <summary>
    /// SUPERVISOR_KEY (the current key) plus SUPERVISOR_OLD_KEYS (comma-separated, still readable); else the
    /// key file in the data folder, generated with one key at the first start.
    /// </summary>
    private static IReadOnlyList<string> TokenKeysOf(string dataDir)
    {
        List<string> keys;
        if (Environment.GetEnvironmentVariable("SUPERVISOR_KEY") is { Length: > 0 } current)
        {
            keys = [current.Trim(), .. (Environment.GetEnvironmentVariable("SUPERVISOR_OLD_KEYS") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }
        else
        {
            var file = TokenKeyFile(dataDir);
            if (!File.Exists(file)) WriteOwnerOnly(file, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) + "\n");
            keys = File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        }
        try
        {
            foreach (var key in keys) Supervisor.Actors.Serialization.TokenCipher.ParseKey(key);
        }
        catch (Supervisor.Actors.Serialization.TokenKeyException e)
        {
            throw new InvalidOperationException($"the token key is unusable: {e.Message}");
        }
        return keys.Count > 0 ? keys : throw new InvalidOperationException($"no token key: set SUPERVISOR_KEY or put one in {TokenKeyFile(dataDir)}");
    }

    private static void WriteOwnerOnly(string file, string text)
    {
        File.WriteAllText(file, "");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(file, text);
    }

    /// <summary>A secret from <paramref name="variable"/>, else from <paramref name="file"/>, generated there at the first start.</summary>
    private static (string Token, bool Generated) SecretOf(string dataDir, string variable, string file)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } given) return (given, false);
        if (File.Exists(file)) return (File.ReadAllText(file).Trim(), true);
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        WriteOwnerOnly(file, token);
        return (token, true);
    }
}

using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Host.Configuration;
using Supervisor.Host.Logging;

namespace Supervisor.Host.Cli;

/// <summary>
/// The command line of the same executable: <c>accounts add | import | list (paged) | show | logout</c> and
/// <c>session export</c>, talking to a running host over its HTTP API. Passwords come from standard input
/// or a prompt, never from the command line. Whatever came from outside (handles, DIDs, error messages,
/// answer bodies) is printed with its control characters escaped, so it cannot drive the terminal.
/// </summary>
public static class SupervisorCli
{
    /// <summary>The first words that select the CLI instead of running the host.</summary>
    public static bool Handles(string[] args) =>
        args.Length > 0 && (args[0] is "accounts" or "session" or "--help" or "-h" or "-?" || args[0] == "run" && args.Any(a => a is "--help" or "-h" or "-?"));

    /// <summary>Parses and runs one command; the exit code is 0 on success.</summary>
    public static Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        var host = new Option<string>("--host")
        {
            Description = "the supervisor's URL (default: SUPERVISOR_URL, else http://127.0.0.1:5080)",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SUPERVISOR_URL") ?? "http://127.0.0.1:5080",
        };
        var root = new RootCommand("AT Protocol session supervisor. Without a command (or with 'run') it runs the host.");
        root.Options.Add(host);

        var service = new Option<string>("--service") { Description = "the login service, e.g. https://bsky.social", Required = true };
        var identifier = new Option<string>("--identifier") { Description = "handle or email", Required = true };
        var authFactor = new Option<string?>("--auth-factor-token") { Description = "the two-factor code from the email, when asked for one" };
        var add = new Command("add", "log in an account (the password is read from standard input or a prompt)") { service, identifier, authFactor };
        add.SetAction((parse, ct) => Run(parse.GetValue(host)!, error, async http =>
        {
            var password = ReadSecret(input, output, "password: ");
            var answer = await http.PostAsJsonAsync("/accounts", new
            {
                identifier = parse.GetValue(identifier), password, service = parse.GetValue(service), authFactorToken = parse.GetValue(authFactor),
            }, ct);
            return await PrintAsync(answer, output, error, ct);
        }));

        var file = new Option<FileInfo>("--file") { Description = "one session per line: Python session string or SessionData JSON", Required = true };
        var importService = new Option<string?>("--service") { Description = "the login service, when the sessions do not name it" };
        var import = new Command("import", "import sessions from a file and report what was imported and what was rejected") { file, importService };
        import.SetAction((parse, ct) => Run(parse.GetValue(host)!, error, http => ImportAsync(http, parse.GetValue(file)!, parse.GetValue(importService), output, ct)));

        var state = new Option<string?>("--state") { Description = "only accounts in this state (Active, Degraded, NeedsLogin, ...)" };
        var query = new Option<string?>("--query", "-q") { Description = "only accounts whose handle or DID contains this text (any case)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many accounts (1 to 1000; default 100)" };
        var cursor = new Option<string?>("--cursor") { Description = "the next page: the cursor the previous page printed" };
        var list = new Command("list", "one page of account statuses, ordered by DID; the answer's 'cursor' asks for the next page") { state, query, limit, cursor };
        list.SetAction((parse, ct) => Run(parse.GetValue(host)!, error, async http =>
        {
            // The query's parameters, and the same filters as options for the next page's command.
            var parameters = new List<string>();
            var filters = new List<string>();
            void Add(string name, string option, string? value)
            {
                if (string.IsNullOrEmpty(value)) return;
                parameters.Add($"{name}={Uri.EscapeDataString(value)}");
                if (name != "cursor") filters.Add($"{option} {ShellWord(value)}");
            }
            Add("state", "--state", parse.GetValue(state));
            Add("q", "--query", parse.GetValue(query));
            Add("limit", "--limit", parse.GetValue(limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add("cursor", "--cursor", parse.GetValue(cursor));
            var answer = await http.GetAsync(parameters.Count == 0 ? "/accounts" : "/accounts?" + string.Join('&', parameters), ct);
            var text = await answer.Content.ReadAsStringAsync(ct);
            var code = await PrintAsync(answer.StatusCode, answer.IsSuccessStatusCode, text, output, error);
            // The next page's command goes to stderr, so that standard output stays one JSON document; it keeps the
            // filters (a cursor is a place in the order by DID: without them the next page would list every account).
            if (code == 0 && Text(ParseJson(text), "cursor") is { Length: > 0 } next)
                await error.WriteLineAsync($"more accounts: accounts list {string.Concat(filters.Select(f => f + " "))}--cursor {ShellWord(next)}");
            return code;
        }));

        var id = new Argument<string>("id") { Description = "the account's DID or handle" };
        var show = new Command("show", "one account's status") { id };
        show.SetAction((parse, ct) => Run(parse.GetValue(host)!, error, async http =>
            await PrintAsync(await http.GetAsync($"/accounts/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct), output, error, ct)));
        var logout = new Command("logout", "log out (deleteSession), retried by the host until it succeeds") { id };
        logout.SetAction((parse, ct) => Run(parse.GetValue(host)!, error, async http =>
            await PrintAsync(await http.DeleteAsync($"/accounts/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct), output, error, ct)));

        var format = new Option<string>("--format") { Description = "python or json", DefaultValueFactory = _ => "python" };
        format.AcceptOnlyFromAmong("python", "json");
        var export = new Command("export", "print the session with its tokens") { id, format };
        export.SetAction((parse, ct) => Run(parse.GetValue(host)!, error, async http =>
        {
            var answer = await http.GetAsync($"/accounts/{Uri.EscapeDataString(parse.GetValue(id)!)}/session?format={parse.GetValue(format)}", ct);
            if (!answer.IsSuccessStatusCode || parse.GetValue(format) == "json") return await PrintAsync(answer, output, error, ct);
            await output.WriteLineAsync(Text(await ReadJsonAsync(answer, ct), "session"));
            return 0;
        }));

        // "run" itself is handled before this parser (Program.cs); it is here for --help.
        root.Subcommands.Add(new Command("run", "run the host (the default): --urls http://127.0.0.1:PORT, SUPERVISOR_DATA_DIR, SUPERVISOR_ADMIN_TOKEN, " +
                                                "SUPERVISOR_JOURNAL, SUPERVISOR_POSTGRES, SUPERVISOR_KEY, SUPERVISOR_HOCON, SUPERVISOR_LOG_FILE, SUPERVISOR_LOG_LEVEL (see README)"));
        root.Subcommands.Add(new Command("accounts", "manage supervised accounts") { add, import, list, show, logout });
        root.Subcommands.Add(new Command("session", "sessions with their tokens") { export });
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    private static async Task<int> ImportAsync(HttpClient http, FileInfo file, string? service, TextWriter output, CancellationToken ct)
    {
        var (imported, rejected, number) = (0, 0, 0);
        foreach (var line in await File.ReadAllLinesAsync(file.FullName, ct))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var session = line.Trim();
            using var answer = await http.PostAsJsonAsync("/accounts/import", new { session, service }, ct);
            var body = await ReadJsonAsync(answer, ct);
            if (answer.IsSuccessStatusCode)
            {
                imported++;
                await output.WriteLineAsync($"line {number}: imported {Text(body, "did")} ({Text(body, "handle")})");
            }
            else
            {
                rejected++;
                var why = body.ValueKind == JsonValueKind.Object ? $"{Text(body, "error")}: {Text(body, "message")}" : $"HTTP {(int)answer.StatusCode} without a JSON error";
                await output.WriteLineAsync($"line {number}: rejected: {why}");
            }
        }
        await output.WriteLineAsync($"{imported} imported, {rejected} rejected");
        return rejected == 0 ? 0 : 2;
    }

    private static async Task<int> Run(string host, TextWriter error, Func<HttpClient, Task<int>> action)
    {
        using var http = new HttpClient { BaseAddress = new Uri(host), Timeout = TimeSpan.FromMinutes(2) };
        if (AdminToken() is { } token) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return await action(http);
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync(ControlCharacterEscaper.Escape($"cannot reach the supervisor at {host}: {e.Message}"));
            return 3;
        }
        catch (TaskCanceledException)
        {
            await error.WriteLineAsync(ControlCharacterEscaper.Escape($"no answer from the supervisor at {host} within {http.Timeout.TotalMinutes:0} minutes"));
            return 3;
        }
    }

    /// <summary>The answer's JSON body, or an undefined element when it is not JSON.</summary>
    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage answer, CancellationToken ct)
    {
        try
        {
            return JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement.Clone();
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>SUPERVISOR_ADMIN_TOKEN, else the token the host generated in its data folder.</summary>
    private static string? AdminToken()
    {
        if (Environment.GetEnvironmentVariable("SUPERVISOR_ADMIN_TOKEN") is { Length: > 0 } token) return token;
        var dataDir = Environment.GetEnvironmentVariable("SUPERVISOR_DATA_DIR") is { Length: > 0 } d ? d : "data";
        var file = HostSettings.AdminTokenFile(Path.GetFullPath(dataDir));
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    private static async Task<int> PrintAsync(HttpResponseMessage answer, TextWriter output, TextWriter error, CancellationToken ct) =>
        await PrintAsync(answer.StatusCode, answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync(ct), output, error);

    private static async Task<int> PrintAsync(System.Net.HttpStatusCode status, bool success, string text, TextWriter output, TextWriter error)
    {
        if (success)
        {
            await output.WriteLineAsync(Indent(text));
            return 0;
        }
        await error.WriteLineAsync($"HTTP {(int)status}: {Indent(text)}");
        return 1;
    }

    /// <summary>A JSON text's root, or an undefined element when it is not JSON.</summary>
    private static JsonElement ParseJson(string text)
    {
        try
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>
    /// A JSON body indented (its line breaks are the indentation's own; control characters inside its strings
    /// come out escaped), or any other body on one line with its control characters escaped.
    /// </summary>
    private static string Indent(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var indented = JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            return string.Join('\n', indented.Split('\n').Select(ControlCharacterEscaper.Escape));
        }
        catch (JsonException)
        {
            return ControlCharacterEscaper.Escape(json);
        }
    }

    /// <summary>A field of an answer, its control characters escaped.</summary>
    private static string Text(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) ? ControlCharacterEscaper.Escape(v.ToString()) : "";

    /// <summary>A word as a POSIX shell reads it back: as it is when it holds only safe characters, else single-quoted.</summary>
    internal static string ShellWord(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "._-:@/+=,%".Contains(c)) ? value : "'" + value.Replace("'", "'\\''") + "'";

    /// <summary>Reads a secret: the first line of redirected input, else a prompt without echo.</summary>
    private static string ReadSecret(TextReader input, TextWriter output, string prompt)
    {
        if (!ReferenceEquals(input, Console.In) || Console.IsInputRedirected) return input.ReadLine() ?? "";
        output.Write(prompt);
        var secret = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace && secret.Length > 0) secret.Length--;
            else if (!char.IsControl(key.KeyChar)) secret.Append(key.KeyChar);
        }
        output.WriteLine();
        return secret.ToString();
    }
}

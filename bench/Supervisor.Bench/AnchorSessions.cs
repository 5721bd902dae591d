using System.Diagnostics;
using System.Text.Json;

namespace Supervisor.Bench;

/// <summary>
/// The anchor of the memory benchmark: the same sessions held by the TypeScript client, <c>@atproto/lex-password-session</c>
/// (a <c>PasswordSession</c> each, with its hooks) on Node, through bench/anchor/session-memory.mjs. The sessions go in as
/// JSON lines on its standard input (tokens shaped as the supervisor's accounts hold them, secrets of no account); the
/// V8 heap they take comes back as its last line of JSON. bench/run installs bench/anchor's packages (npm ci).
/// </summary>
public static class AnchorSessions
{
    /// <summary>
    /// The V8 heap a session takes in the anchor, in bytes, with <paramref name="count"/> sessions at <paramref name="pdsUrl"/>;
    /// null without node. Each holds what the supervisor's imported accounts hold (tokens, DID, handle, service), and with
    /// <paramref name="asLoginAnswers"/> also what a login answers and the client keeps (the DID document, e-mail fields).
    /// </summary>
    public static async Task<double?> BytesPerSessionAsync(string pdsUrl, int count, bool asLoginAnswers)
    {
        var script = Path.Combine(BenchBrowser.RepositoryRoot(), "bench", "anchor", "session-memory.mjs");
        var info = new ProcessStartInfo("node")
        {
            ArgumentList = { "--expose-gc", script },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process? process;
        try
        {
            process = Process.Start(info);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no node on the PATH
        }
        using var node = process ?? throw new InvalidOperationException("node did not start");
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var did = Accounts.Did(i);
            var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
            var handle = $"{did[8..]}.bench";
            object session = asLoginAnswers
                ? new
                {
                    accessJwt = access, refreshJwt = refresh, handle, did, didDoc = DidDocument(did, handle, pdsUrl),
                    email = handle + "@example.com", emailConfirmed = true, emailAuthFactor = false, active = true, service = pdsUrl,
                }
                : new { accessJwt = access, refreshJwt = refresh, handle, did, active = true, service = pdsUrl };
            await node.StandardInput.WriteLineAsync(JsonSerializer.Serialize(session));
        }
        node.StandardInput.Close();
        await node.WaitForExitAsync();
        var last = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        if (node.ExitCode != 0 || last is null)
            throw new InvalidOperationException($"bench/anchor/session-memory.mjs exited with {node.ExitCode}:\n{await error}");
        using var figures = JsonDocument.Parse(last);
        return figures.RootElement.GetProperty("perSessionBytes").GetDouble();
    }

    /// <summary>A DID document shaped as the reference PDS's (its key a random secp256k1 multibase of the same length).</summary>
    private static object DidDocument(string did, string handle, string pdsUrl) => new Dictionary<string, object>
    {
        ["@context"] = new[] { "https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/suites/secp256k1-2019/v1" },
        ["id"] = did,
        ["alsoKnownAs"] = new[] { "at://" + handle },
        ["verificationMethod"] = new[]
        {
            new { id = did + "#atproto", type = "Multikey", controller = did, publicKeyMultibase = "zQ3sh" + RandomBase58(44) },
        },
        ["service"] = new[] { new { id = "#atproto_pds", type = "AtprotoPersonalDataServer", serviceEndpoint = pdsUrl } },
    };

    private static string RandomBase58(int length)
    {
        const string alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        return string.Create(length, 0, (chars, _) =>
        {
            for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(alphabet.Length)];
        });
    }
}

using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Supervisor.Actors.Pds;

/// <summary>
/// A PDS's answer to one XRPC call, or the failure to get one (<see cref="Status"/> 0): status, body bytes,
/// content type, the error read from the body, the rate-limit headers, and the allowed answer headers
/// (the supervisor's XrpcHeaders.Response). Its <see cref="ToString"/> leaves out the body, which may hold tokens.
/// </summary>
public sealed record XrpcResponse(
    int Status, byte[] Body, string? ContentType, XrpcError? Error, RateLimitInfo? RateLimit = null, IReadOnlyDictionary<string, string>? Headers = null)
    : Serialization.IWireMessage
{
    /// <summary>True for a 2xx answer.</summary>
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>True when no HTTP answer came at all (network error, timeout).</summary>
    public bool IsTransportFailure => Status == 0;

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>A 429 RateLimitExceeded made by the supervisor itself, saying when to retry.</summary>
    public static XrpcResponse RateLimited(string message, DateTimeOffset retryAt) =>
        new(429, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = "RateLimitExceeded", ["message"] = message }),
            "application/json", new XrpcError("RateLimitExceeded", message), new RateLimitInfo(null, 0, retryAt, null));

    /// <summary>A failure to get an answer.</summary>
    public static XrpcResponse Failed(string error, string message) => new(0, [], null, new XrpcError(error, message));

    /// <summary>
    /// Builds a response from an HTTP answer: a JSON error body is read into <see cref="Error"/>; an error
    /// status without one gets <see cref="XrpcError.InvalidResponse"/>.
    /// </summary>
    public static XrpcResponse From(int status, byte[] body, string? contentType, RateLimitInfo? rateLimit, IReadOnlyDictionary<string, string>? headers = null)
    {
        XrpcError? error = null;
        if (status is < 200 or >= 300)
        {
            error = TryReadError(body) ?? new XrpcError(
                XrpcError.InvalidResponse,
                $"HTTP {status} with {(body.Length == 0 ? "an empty body" : contentType ?? "no content type")} instead of a JSON error");
        }
        return new XrpcResponse(status, body, contentType, error, rateLimit, headers);
    }

    /// <summary>
    /// This error answer with each of <paramref name="secrets"/> (a password, a code, a token the call sent; those under 4
    /// characters are not looked for) cut from its error, and its body made that error alone when the secret is anywhere
    /// in it (past the part of the message kept, in another field, in a body that is not JSON): a server that echoes what
    /// it was sent must not put a password or a token into a log, an answer or an event. Also cut: the head of a secret
    /// that ends a message cut at its length. The same answer when no secret is in it, and for a success.
    /// </summary>
    public XrpcResponse WithoutSecrets(params ReadOnlySpan<string?> secrets)
    {
        if (Error is not { } error) return this;
        var (name, message, inBody) = (error.Error, error.Message, false);
        foreach (var secret in secrets)
        {
            if (secret is not { Length: >= 4 }) continue;
            // And as the error shows it (a tab in a password a space), and as a server quoting the JSON it was sent shows
            // it (a quote or a backslash escaped; with the default encoder, anything but ASCII too).
            foreach (var form in (ReadOnlySpan<string>)[secret, XrpcError.Printable(secret), JsonEncodedText.Encode(secret, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString(), JsonEncodedText.Encode(secret).ToString()])
            {
                name = Cut(name, form);
                message = Cut(message, form);
            }
            inBody |= Body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0
                      || Body.AsSpan().IndexOf(JsonEncodedText.Encode(secret).EncodedUtf8Bytes) >= 0;
        }
        if (!inBody && ReferenceEquals(name, error.Error) && ReferenceEquals(message, error.Message)) return this;
        return this with
        {
            Error = new XrpcError(name, message),
            Body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = name, ["message"] = message }),
            ContentType = "application/json",
        };

        static string Cut(string text, string secret)
        {
            if (text.Contains(secret, StringComparison.Ordinal)) text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
            // A message cut at its length ("…") may end with the first characters of a secret.
            var end = text.EndsWith('…') ? text.Length - 1 : text.Length;
            for (var length = Math.Min(end, secret.Length - 1); length >= 4; length--)
                if (text.AsSpan(end - length, length).SequenceEqual(secret.AsSpan(0, length)))
                    return string.Concat(text.AsSpan(0, end - length), "[redacted]", text.AsSpan(end));
            return text;
        }
    }

    /// <summary>The string <paramref name="name"/> of the body's JSON object, or null (no such string, not a JSON object).</summary>
    public string? TryReadString(string name)
    {
        using var json = TryParseJson();
        return json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
    }

    /// <summary>Parses the body as JSON, or returns null when it is not JSON (HTML, truncated, empty).</summary>
    public JsonDocument? TryParseJson()
    {
        if (Body.Length == 0) return null;
        try
        {
            return JsonDocument.Parse(Body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The <c>{"error","message"}</c> of a JSON error body, or null.</summary>
    public static XrpcError? TryReadError(byte[] body)
    {
        if (body.Length == 0 || body[0] != (byte)'{') return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("error", out var name)
                || name.ValueKind != JsonValueKind.String)
                return null;
            var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return XrpcError.FromServer(name.GetString()!, message ?? "");
        }
        // Not JSON, or strings that are not UTF-8 (GetString throws InvalidOperationException for those).
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"XrpcResponse {{ Status = {Status}, Error = {Error?.Error}, BodyBytes = {Body.Length} }}";
}

namespace Supervisor.Actors.Identity;

/// <summary>
/// The DIDs the supervisor accepts: <c>did:plc:</c> with 24 characters of base32 [a-z2-7], and <c>did:web:</c>
/// with a host name (optionally a percent-encoded port, <c>%3A1234</c>, and no path). Other methods are invalid.
/// </summary>
public static class DidSyntax
{
    /// <summary>The longest DID, in characters.</summary>
    public const int MaxLength = 2048;

    /// <summary>The prefix of a did:plc identifier.</summary>
    public const string PlcPrefix = "did:plc:";

    /// <summary>The prefix of a did:web identifier.</summary>
    public const string WebPrefix = "did:web:";

    /// <summary>True when <paramref name="did"/> is a valid did:plc or did:web identifier.</summary>
    public static bool IsValid(string? did) => IsPlc(did) || TryParseWeb(did, out _, out _);

    /// <summary>True for <c>did:plc:</c> followed by exactly 24 characters of [a-z2-7].</summary>
    public static bool IsPlc(string? did) =>
        did is { Length: 32 }
        && did.StartsWith(PlcPrefix, StringComparison.Ordinal)
        && !did.AsSpan(PlcPrefix.Length).ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz234567");

    /// <summary>True for a valid did:web identifier.</summary>
    public static bool IsWeb(string? did) => TryParseWeb(did, out _, out _);

    /// <summary>Reads the host (as written) and the port (null when none) of a valid did:web identifier.</summary>
    public static bool TryParseWeb(string? did, out string host, out int? port)
    {
        host = "";
        port = null;
        if (did is null || did.Length > MaxLength || !did.StartsWith(WebPrefix, StringComparison.Ordinal)) return false;
        var rest = did[WebPrefix.Length..];
        var percent = rest.IndexOf('%');
        var name = percent < 0 ? rest : rest[..percent];
        if (percent >= 0)
        {
            var encoded = rest[percent..];
            if (encoded.Length is < 4 or > 8 || !encoded.StartsWith("%3A", StringComparison.OrdinalIgnoreCase)) return false;
            var digits = encoded[3..];
            if (digits.AsSpan().ContainsAnyExceptInRange('0', '9') || digits[0] == '0'
                || !int.TryParse(digits, out var value) || value > 65535)
                return false;
            port = value;
        }
        if (HandleSyntax.CountHostLabels(name) < 1) return false;
        host = name;
        return true;
    }
}

using System.IO.Compression;

namespace Supervisor.Actors.Pds;

/// <summary>
/// Bodies a PDS sent compressed (the caller asked for it with Accept-Encoding, and answers pass through as they come):
/// decoded within a bound when the supervisor must read one (an error's head, for the token refused or echoed).
/// </summary>
public static class EncodedBodies
{
    /// <summary>
    /// <paramref name="body"/> decoded from <paramref name="encoding"/> (the Content-Encoding: gzip, deflate, br; none or
    /// identity: as it is), or null when it is in another, is not valid, or decodes to more than <paramref name="limit"/> bytes.
    /// </summary>
    public static byte[]? Decode(byte[] body, string? encoding, int limit)
    {
        var name = encoding?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(name) || name == "identity") return body;
        // HTTP's deflate is the zlib format; some servers send the raw one.
        return name switch
        {
            "gzip" or "x-gzip" => Decoded(input => new GZipStream(input, CompressionMode.Decompress), body, limit),
            "deflate" => Decoded(input => new ZLibStream(input, CompressionMode.Decompress), body, limit)
                         ?? Decoded(input => new DeflateStream(input, CompressionMode.Decompress), body, limit),
            "br" => Decoded(input => new BrotliStream(input, CompressionMode.Decompress), body, limit),
            _ => null,
        };
    }

    /// <summary>
    /// A client's <c>Accept-Encoding</c> cut to the codings <see cref="Decode"/> reads (with their weights), or null when
    /// none is left (then ask for <c>identity</c>: no header at all would accept any): the supervisor reads an error's head to find a refused or echoed token, so an answer must not come
    /// in a coding it cannot read (zstd, or any the <c>*</c> would let the server choose).
    /// </summary>
    public static string? Acceptable(string acceptEncoding)
    {
        var kept = acceptEncoding.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(item => item.Split(';', 2)[0].Trim().ToLowerInvariant() is "gzip" or "x-gzip" or "deflate" or "br" or "identity");
        return string.Join(", ", kept) is { Length: > 0 } joined ? joined : null;
    }

    private static byte[]? Decoded(Func<Stream, Stream> decoder, byte[] body, int limit)
    {
        try
        {
            // The output grows as it comes (a few times the encoded size, usually), never reserved at the limit: a server
            // labelling every small answer compressed must not cost the limit's bytes per answer.
            using var stream = decoder(new MemoryStream(body, writable: false));
            using var decoded = new MemoryStream(Math.Min(limit, Math.Max(256, body.Length * 4)));
            var chunk = new byte[Math.Min(limit + 1, 16 * 1024)];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (decoded.Length + read > limit) return null;
                decoded.Write(chunk, 0, read);
            }
            return decoded.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException) // Brotli's own, for invalid data
        {
            return null;
        }
    }
}

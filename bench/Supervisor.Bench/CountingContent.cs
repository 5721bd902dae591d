using System.Net;

namespace Supervisor.Bench;

/// <summary>A request body of fixed bytes, written in 64 KiB pieces, each counted as it is handed to the connection.</summary>
public sealed class CountingContent(byte[] body, Action<int> written) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        for (var offset = 0; offset < body.Length;)
        {
            var n = Math.Min(64 * 1024, body.Length - offset);
            await stream.WriteAsync(body.AsMemory(offset, n));
            offset += n;
            written(n);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = body.Length;
        return true;
    }
}

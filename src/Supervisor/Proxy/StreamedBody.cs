using System.Buffers;
using System.Net;

namespace Supervisor.Host.Proxy;

/// <summary>
/// A request body streamed from the client to the PDS through one pooled 64 KiB buffer: each read is written as it
/// came, so the body leaves in large writes (Kestrel's request stream would otherwise hand on 4 KiB blocks, one
/// send each) and is never held whole.
/// </summary>
public sealed class StreamedBody(Stream source) : HttpContent
{
    private const int BufferSize = 64 * 1024;

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    /// <inheritdoc />
    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

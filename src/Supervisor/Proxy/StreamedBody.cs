using System.Buffers;
using System.Net;

namespace Supervisor.Host.Proxy;

/// <summary>
/// A request body streamed from the client to the PDS through one pooled 64 KiB buffer: each read is written as it
/// came, so the body leaves in large writes (Kestrel's request stream would otherwise hand on 4 KiB blocks, one
/// send each) and is never held whole. The request's <paramref name="deadline"/> starts again for each block (with
/// <paramref name="idle"/>): a large upload takes the time it needs while it moves, and the PDS has the whole of it to
/// answer after the last block.
/// </summary>
public sealed class StreamedBody(Stream source, CancellationTokenSource deadline, TimeSpan idle) : HttpContent
{
    private const int BufferSize = 64 * 1024;

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // The request's headers (its Authorization with the lent token) leave now, not when the client's first bytes fill
        // the connection's buffer: a slow client's upload would otherwise send them after the loan had ended.
        await stream.FlushAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                deadline.CancelAfter(idle);
                var read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken);
                if (read == 0) break;
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
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

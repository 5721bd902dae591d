namespace Supervisor.Host.Logging;

/// <summary>
/// The JSON log file (<c>SUPERVISOR_LOG_FILE</c>), appended to, and opened again at its path on <see cref="Reopen"/>
/// (SIGHUP): a rotation that moved the file away gets a new one at the path without a restart, and the lines written
/// before it stay in the moved file. Writes and the reopening take turns.
/// </summary>
public sealed class ReopenableFile(string path) : Stream
{
    private readonly object _gate = new();
    private FileStream _file = Open(path);

    private static FileStream Open(string path) => new(path, FileMode.Append, FileAccess.Write, FileShare.Read);

    /// <summary>Opens the path again (what was written goes to the file it was written to); false, writing on to the old one, when it cannot.</summary>
    public bool Reopen()
    {
        lock (_gate)
        {
            FileStream next;
            try
            {
                next = Open(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
            _file.Dispose();
            _file = next;
            return true;
        }
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate) _file.Write(buffer);
    }

    /// <inheritdoc />
    public override void Flush()
    {
        lock (_gate) _file.Flush();
    }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            lock (_gate) _file.Dispose();
        base.Dispose(disposing);
    }
}

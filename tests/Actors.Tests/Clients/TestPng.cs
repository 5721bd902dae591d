using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>A real, decodable PNG (an RGB gradient) made in memory, with random bytes after its IEND chunk to reach a size.</summary>
public static class TestPng
{
    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>A <paramref name="width"/> x <paramref name="height"/> PNG padded with random bytes to <paramref name="totalLength"/>.</summary>
    public static byte[] Make(int width, int height, int totalLength, int seed)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: RGB
        Chunk(png, "IHDR", header);
        var pixels = new byte[height * (1 + width * 3)];
        for (var y = 0; y < height; y++)
        {
            var row = y * (1 + width * 3); // filter byte 0 (none), then RGB
            for (var x = 0; x < width; x++)
            {
                pixels[row + 1 + x * 3] = (byte)(x * 255 / Math.Max(1, width - 1));
                pixels[row + 2 + x * 3] = (byte)(y * 255 / Math.Max(1, height - 1));
                pixels[row + 3 + x * 3] = 0x80;
            }
        }
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(pixels);
            Chunk(png, "IDAT", compressed.ToArray());
        }
        Chunk(png, "IEND", []);
        var padding = new byte[Math.Max(0, totalLength - (int)png.Length)];
        new Random(seed).NextBytes(padding);
        png.Write(padding);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var typeBytes = Encoding.ASCII.GetBytes(type);
        var word = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(typeBytes);
        png.Write(data);
        var crc = 0xFFFFFFFFu;
        foreach (var b in typeBytes.Concat(data)) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc ^ 0xFFFFFFFFu);
        png.Write(word);
    }
}

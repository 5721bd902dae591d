using System.IO.Compression;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Tests.Outbound;

/// <summary>
/// A compressed body the supervisor must read (an error's head, a session call's answer) is decoded within a bound, and
/// costs what it decodes to, not the bound: a server labelling every small answer compressed costs no more than one
/// sent plain.
/// </summary>
public sealed class EncodedBodiesSpec
{
    private const int Limit = 4 * 1024 * 1024;

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    public void A_small_compressed_body_decodes_whole_and_allocates_a_small_multiple_of_itself_under_a_4_MiB_bound(string encoding)
    {
        var plain = """{"error":"ExpiredToken","message":"Token has expired"}"""u8.ToArray();
        var encoded = Encode(plain, encoding);
        Assert.Equal(plain, EncodedBodies.Decode(encoded, encoding, Limit)); // warm: the codec's first use loads it

        var before = GC.GetAllocatedBytesForCurrentThread();
        var decoded = EncodedBodies.Decode(encoded, encoding, Limit);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(plain, decoded);
        Assert.True(allocated < 128 * 1024, $"decoding {encoded.Length} bytes allocated {allocated} bytes");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    public void A_body_decoding_to_the_bound_is_kept_and_one_byte_more_is_refused(string encoding)
    {
        var atTheBound = new byte[100_000];
        Random.Shared.NextBytes(atTheBound);
        Assert.Equal(atTheBound, EncodedBodies.Decode(Encode(atTheBound, encoding), encoding, atTheBound.Length));
        Assert.Null(EncodedBodies.Decode(Encode([.. atTheBound, 0], encoding), encoding, atTheBound.Length));
    }

    [Fact]
    public void A_bomb_of_zeros_is_refused_at_the_bound()
    {
        var bomb = Encode(new byte[64 * 1024 * 1024], "gzip", CompressionLevel.SmallestSize);
        Assert.True(bomb.Length < Limit / 16);
        Assert.Null(EncodedBodies.Decode(bomb, "gzip", Limit));
    }

    private static byte[] Encode(byte[] plain, string encoding, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        using (Stream encoder = encoding switch
               {
                   "gzip" => new GZipStream(output, level, leaveOpen: true),
                   "deflate" => new ZLibStream(output, level, leaveOpen: true),
                   _ => new BrotliStream(output, level, leaveOpen: true),
                   })
            encoder.Write(plain);
        return output.ToArray();
    }
}

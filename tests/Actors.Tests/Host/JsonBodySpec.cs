using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The JSON body of the supervisor's own routes (<see cref="AccountsApi.WithBody"/>): a string that cannot be read is
/// the caller's 400 before anything is sent; a failure inside the supervisor after that is not the body's.
/// </summary>
public sealed class JsonBodySpec
{
    private static HttpRequest Request(byte[] body)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body);
        return context.Request;
    }

    /// <summary><paramref name="json"/> as UTF-8, each <c>!</c> made the byte 0xff (never UTF-8).</summary>
    private static byte[] Broken(string json) => Encoding.UTF8.GetBytes(json).Select(b => b == (byte)'!' ? (byte)0xff : b).ToArray();

    [Fact]
    public async Task A_string_that_is_not_UTF8_or_escapes_half_a_surrogate_pair_anywhere_is_a_400_and_nothing_is_sent()
    {
        byte[][] bodies =
        [
            Broken("""{"identifier":"alice!","password":"pw"}"""),
            Broken("""{"identifier":"alice","pass!":"pw"}"""),
            Broken("""{"session":{"accessJwt":"a","tags":["x","y!"]}}"""),
            Encoding.UTF8.GetBytes("""{"identifier":"\ud800","password":"pw"}"""),
        ];
        foreach (var body in bodies)
        {
            var sent = false;
            var answer = await AccountsApi.WithBody(Request(body), _ =>
            {
                sent = true;
                return Task.FromResult<IResult>(TypedResults.Ok());
            });
            Assert.False(sent, "a body whose string cannot be read was sent on");
            Assert.Equal(400, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        }
    }

    [Fact]
    public async Task A_failure_inside_the_supervisor_is_not_answered_as_the_bodys_fault()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => AccountsApi.WithBody(Request("""{"identifier":"alice"}"""u8.ToArray()),
            _ => throw new InvalidOperationException("the accounts could not handle Login")));
        Assert.Equal("the accounts could not handle Login", failure.Message);
    }
}

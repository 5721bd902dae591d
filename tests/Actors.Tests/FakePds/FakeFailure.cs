namespace Supervisor.Actors.Tests.FakePds;

/// <summary>A way for the fake PDS to misbehave on the next calls of a method.</summary>
public enum FakeFailure
{
    /// <summary>500 with the PDS's JSON InternalServerError body.</summary>
    ServerError500,

    /// <summary>502 with an HTML body, as a proxy in front of a PDS answers.</summary>
    Html502,

    /// <summary>200 with a JSON body cut off in the middle.</summary>
    TruncatedJson,

    /// <summary>Never answers (until the client gives up).</summary>
    Hang,

    /// <summary>Drops the connection without an answer.</summary>
    DropConnection,

    /// <summary>200 with its headers and the first bytes of a longer JSON body, then nothing more (until the client gives up).</summary>
    StallMidBody,

    /// <summary>400 with its headers and the first bytes of a longer JSON error body, then nothing more (until the client gives up).</summary>
    StallMidErrorBody,

    /// <summary>200 with <see cref="FakePdsServer.TrickleBody"/> in 10 parts sent 400 ms apart (4 s in all).</summary>
    TrickleBody,

    /// <summary>200 with a space every 400 ms until <see cref="FakePdsServer.ReleaseHeldAnswers"/> is called, then <see cref="FakePdsServer.TrickleBody"/>.</summary>
    TrickleUntilReleased,

    /// <summary>No failure, only a wait: the call is answered as usual once <see cref="FakePdsServer.ReleaseHeldAnswers"/> is called.</summary>
    HeldUntilReleased,

    /// <summary>400 with a JSON error body of about 100 KB that echoes the request's Authorization at its end, chunked (no Content-Length).</summary>
    LongChunkedError,

    /// <summary><see cref="LongChunkedError"/>'s body with its Content-Length.</summary>
    LongError,

    /// <summary>429 RateLimitExceeded with RateLimit-* headers (reset in <see cref="FakePdsServer.RateLimitedResetAfter"/>, 2 s unless set).</summary>
    RateLimited,

    /// <summary>400 InvalidRequest whose JSON body echoes the request's Authorization header, in its message and a field of its own.</summary>
    EchoAuthorization,

    /// <summary><see cref="EchoAuthorization"/>'s answer gzip-compressed (Content-Encoding: gzip), and the header echoed in its ETag.</summary>
    EchoAuthorizationGzipped,
}

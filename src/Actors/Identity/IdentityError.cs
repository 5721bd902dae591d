namespace Supervisor.Actors.Identity;

/// <summary>Why a DID or handle could not be resolved or verified.</summary>
public enum IdentityError
{
    /// <summary>Resolved (or verified).</summary>
    None,

    /// <summary>The DID or handle is not valid syntax, or its DID method is not supported; nothing was asked.</summary>
    InvalidSyntax,

    /// <summary>The directory, the resolver, DNS and the well-known URL all say there is no such DID or handle.</summary>
    NotFound,

    /// <summary>The answer was not a usable document: HTML, not JSON, too large, a redirect, another DID's document.</summary>
    InvalidAnswer,

    /// <summary>No answer in time.</summary>
    Timeout,

    /// <summary>The server could not be reached, or answered 5xx or 429: worth asking again later.</summary>
    Unavailable,

    /// <summary>Both sides answered, but they disagree (verification only).</summary>
    Mismatch,
}

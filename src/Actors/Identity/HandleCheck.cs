namespace Supervisor.Actors.Identity;

/// <summary>The check of a handle verification that failed (<see cref="None"/> when it passed).</summary>
public enum HandleCheck
{
    /// <summary>Every check passed.</summary>
    None,

    /// <summary>The handle or the DID is not valid syntax.</summary>
    Syntax,

    /// <summary>The DID document could not be read.</summary>
    DidDocument,

    /// <summary>The DID document's alsoKnownAs does not list <c>at://HANDLE</c>.</summary>
    AlsoKnownAs,

    /// <summary>The handle could not be resolved.</summary>
    HandleResolution,

    /// <summary>The handle resolves to another DID.</summary>
    SameDid,
}

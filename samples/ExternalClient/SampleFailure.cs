namespace Supervisor.Samples.ExternalClient;

/// <summary>The supervisor (or its cluster) answered, but not as the sample needs; the message says what (never with a token).</summary>
public sealed class SampleFailure(string message) : Exception(message);

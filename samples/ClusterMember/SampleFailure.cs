namespace Supervisor.Samples.ClusterMember;

/// <summary>The cluster answered, but not as the sample needs; the message says what (never with a token).</summary>
public sealed class SampleFailure(string message) : Exception(message);

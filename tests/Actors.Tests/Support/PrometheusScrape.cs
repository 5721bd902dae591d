using System.Globalization;
using System.Text.RegularExpressions;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// One <c>GET /metrics</c> answer in the Prometheus text format, read into samples (name, labels, value) and the
/// declared types, so that specs ask for a series' value whatever the order of its labels or an empty label set.
/// </summary>
public sealed partial class PrometheusScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = new();
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    public PrometheusScrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                _types[parts[2]] = parts[3];
                continue;
            }
            if (line.StartsWith('#')) continue;
            var match = SamplePattern().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample: {line}");
            var labels = LabelPattern().Matches(match.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            _samples.Add((match.Groups["name"].Value, labels, value));
        }
    }

    /// <summary>The answer as it came.</summary>
    public string Text { get; }

    /// <summary>Reads the host's <c>/metrics</c> (no credentials: the endpoint is open).</summary>
    public static async Task<PrometheusScrape> ReadAsync(SupervisorProcess host)
    {
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        return new PrometheusScrape(await anonymous.GetStringAsync("/metrics"));
    }

    /// <summary>The declared type of a metric family (counter, gauge, histogram), or null.</summary>
    public string? TypeOf(string family) => _types.GetValueOrDefault(family);

    /// <summary>The value of the one series named <paramref name="name"/> with these labels (and maybe others), or null.</summary>
    public double? Value(string name, params (string Label, string Value)[] labels)
    {
        var found = Series(name, labels).ToList();
        Assert.True(found.Count <= 1, $"{found.Count} series of {name} match {string.Join(",", labels)}");
        return found.Count == 0 ? null : found[0].Value;
    }

    /// <summary>The sum over every series named <paramref name="name"/> with these labels (0 when there is none).</summary>
    public double Sum(string name, params (string Label, string Value)[] labels) => Series(name, labels).Sum(s => s.Value);

    /// <summary>The label sets of the series named <paramref name="name"/>.</summary>
    public IEnumerable<IReadOnlyDictionary<string, string>> LabelsOf(string name) => _samples.Where(s => s.Name == name).Select(s => s.Labels);

    private IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Series(string name, (string Label, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value));

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>.*)\})?\s+(?<value>\S+)(?:\s+\d+)?$""")]
    private static partial Regex SamplePattern();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPattern();
}

using System.Text;
using Serilog.Core;
using Serilog.Events;

namespace Supervisor.Host.Logging;

/// <summary>
/// Rewrites every string property of a log event (also inside structures, sequences and dictionaries) so
/// that control characters appear escaped (<c>\n</c>, <c>\u001b</c>): a handle or an error message from a
/// server can then neither forge a log line nor send escape codes to an operator's terminal. Covers C0, DEL,
/// C1 and the Unicode line and paragraph separators. Akka's log lines arrive as properties too.
/// </summary>
public sealed class ControlCharacterEscaper : ILogEventEnricher
{
    /// <inheritdoc />
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        List<LogEventProperty>? changed = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            var escaped = Escaped(value);
            if (!ReferenceEquals(escaped, value)) (changed ??= []).Add(new LogEventProperty(name, escaped));
        }
        if (changed is null) return;
        foreach (var property in changed) logEvent.AddOrUpdateProperty(property);
    }

    /// <summary>True for a character that must not reach a log line or a terminal as it is.</summary>
    public static bool IsControl(char c) => c < ' ' || c is >= '\u007f' and <= '\u009f' || c is '\u2028' or '\u2029';

    /// <summary><paramref name="text"/> with every control character escaped; the same instance when it has none.</summary>
    public static string Escape(string text)
    {
        var first = -1;
        for (var i = 0; i < text.Length && first < 0; i++)
            if (IsControl(text[i])) first = i;
        if (first < 0) return text;
        var result = new StringBuilder(text.Length + 16).Append(text, 0, first);
        foreach (var c in text.AsSpan(first))
        {
            if (!IsControl(c))
            {
                result.Append(c);
                continue;
            }
            result.Append(c switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                _ => $@"\u{(int)c:x4}",
            });
        }
        return result.ToString();
    }

    /// <summary>The value with its strings escaped; the same instance when nothing changed.</summary>
    private static LogEventPropertyValue Escaped(LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: string s }:
                var escaped = Escape(s);
                return ReferenceEquals(escaped, s) ? value : new ScalarValue(escaped);
            case ScalarValue { Value: { } other } when other is not (IFormattable or bool or char) && other.ToString() is { } text:
                // An object logged as a scalar is rendered by its ToString, which may carry what a server sent.
                var rendered = Escape(text);
                return ReferenceEquals(rendered, text) ? value : new ScalarValue(rendered);
            case StructureValue structure:
                var properties = structure.Properties.Select(p => (p, v: Escaped(p.Value))).ToList();
                return properties.All(x => ReferenceEquals(x.p.Value, x.v))
                    ? value
                    : new StructureValue(properties.Select(x => ReferenceEquals(x.p.Value, x.v) ? x.p : new LogEventProperty(x.p.Name, x.v)), structure.TypeTag);
            case SequenceValue sequence:
                var elements = sequence.Elements.Select(Escaped).ToList();
                return elements.Zip(sequence.Elements, ReferenceEquals).All(same => same) ? value : new SequenceValue(elements);
            case DictionaryValue dictionary:
                var entries = dictionary.Elements.Select(e => (k: (ScalarValue)Escaped(e.Key), v: Escaped(e.Value), e)).ToList();
                return entries.All(x => ReferenceEquals(x.k, x.e.Key) && ReferenceEquals(x.v, x.e.Value))
                    ? value
                    : new DictionaryValue(entries.Select(x => new KeyValuePair<ScalarValue, LogEventPropertyValue>(x.k, x.v)));
            default:
                return value;
        }
    }
}

using Serilog.Events;
using Serilog.Parsing;
using Supervisor.Host.Logging;

namespace Supervisor.Actors.Tests.Host;

/// <summary>Control characters in log properties come out escaped, so a value from outside cannot forge a line or drive a terminal.</summary>
public sealed class ControlCharacterEscaperSpec
{
    private static LogEvent Event(params LogEventProperty[] properties) =>
        new(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse("{Handle}"), properties);

    private static string Rendered(LogEventPropertyValue value)
    {
        var text = new StringWriter();
        value.Render(text, "l");
        return text.ToString();
    }

    [Fact]
    public void A_newline_and_an_escape_code_in_a_property_are_escaped()
    {
        var e = Event(new LogEventProperty("Handle", new ScalarValue("alice.test\n[12:00:00 INF] forged\u001b[2J")));
        new ControlCharacterEscaper().Enrich(e, null!);
        Assert.Equal(@"alice.test\n[12:00:00 INF] forged\u001b[2J", Rendered(e.Properties["Handle"]));
    }

    [Fact]
    public void Strings_inside_structures_sequences_and_dictionaries_are_escaped_too()
    {
        var e = Event(
            new LogEventProperty("Error", new StructureValue([new LogEventProperty("Message", new ScalarValue("a\r\nb"))], "XrpcError")),
            new LogEventProperty("Handles", new SequenceValue([new ScalarValue("x\u2028y"), new ScalarValue(3)])),
            new LogEventProperty("ByDid", new DictionaryValue([new(new ScalarValue("k\u0085"), new ScalarValue("v\u007f"))])));
        new ControlCharacterEscaper().Enrich(e, null!);
        var error = (StructureValue)e.Properties["Error"];
        Assert.Equal("XrpcError", error.TypeTag);
        Assert.Equal(@"a\r\nb", ((ScalarValue)error.Properties[0].Value).Value);
        Assert.Equal(@"x\u2028y", ((ScalarValue)((SequenceValue)e.Properties["Handles"]).Elements[0]).Value);
        Assert.Equal(3, ((ScalarValue)((SequenceValue)e.Properties["Handles"]).Elements[1]).Value);
        var entry = ((DictionaryValue)e.Properties["ByDid"]).Elements.Single();
        Assert.Equal((@"k\u0085", @"v\u007f"), (entry.Key.Value, ((ScalarValue)entry.Value).Value));
    }

    [Fact]
    public void An_object_logged_as_a_scalar_is_escaped_by_its_rendering()
    {
        var e = Event(new LogEventProperty("Error", new ScalarValue(new Uri("http://x/"))), new LogEventProperty("Raw", new ScalarValue(new Rendering("a\nb"))));
        new ControlCharacterEscaper().Enrich(e, null!);
        Assert.IsType<Uri>(((ScalarValue)e.Properties["Error"]).Value);
        Assert.Equal(@"a\nb", ((ScalarValue)e.Properties["Raw"]).Value);
    }

    [Fact]
    public void Text_without_control_characters_is_left_as_it_is()
    {
        const string text = "did:plc:abc — élan, 日本, \\n as typed";
        Assert.Same(text, ControlCharacterEscaper.Escape(text));
        var value = new ScalarValue(text);
        var e = Event(new LogEventProperty("Handle", value));
        new ControlCharacterEscaper().Enrich(e, null!);
        Assert.Same(value, e.Properties["Handle"]);
    }

    private sealed record Rendering(string Text)
    {
        public override string ToString() => Text;
    }
}

using System.Globalization;

namespace Supervisor.Actors.Limits;

/// <summary>At most <see cref="Limit"/> attempts in any <see cref="Window"/>, written in HOCON as <c>"30 per 5m"</c>.</summary>
public sealed record BudgetWindow(int Limit, TimeSpan Window)
{
    /// <summary>Reads <c>"N per DURATION"</c>, the duration in ms, s, m, h or d.</summary>
    public static BudgetWindow Parse(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3 || parts[1] != "per" || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit <= 0)
            throw new FormatException($"'{text}' is not a budget: write it as \"30 per 5m\"");
        return new BudgetWindow(limit, ParseDuration(parts[2]));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Limit} per {Format(Window)}";

    private static TimeSpan ParseDuration(string text)
    {
        var unit = text.TrimStart("0123456789".ToCharArray());
        var number = text[..^unit.Length];
        if (!double.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new FormatException($"'{text}' is not a duration such as 5m or 1d");
        return unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            "h" => TimeSpan.FromHours(value),
            "d" => TimeSpan.FromDays(value),
            _ => throw new FormatException($"'{text}' is not a duration such as 5m or 1d"),
        };
    }

    private static string Format(TimeSpan window) =>
        window.TotalDays >= 1 && window.TotalDays % 1 == 0 ? $"{window.TotalDays:0}d"
        : window.TotalHours >= 1 && window.TotalHours % 1 == 0 ? $"{window.TotalHours:0}h"
        : window.TotalMinutes >= 1 && window.TotalMinutes % 1 == 0 ? $"{window.TotalMinutes:0}m"
        : $"{window.TotalSeconds:0.###}s";
}

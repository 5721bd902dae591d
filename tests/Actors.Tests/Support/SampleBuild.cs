namespace Supervisor.Actors.Tests.Support;

/// <summary>The built samples (samples/NAME), run by the specs as processes of their own.</summary>
public static class SampleBuild
{
    /// <summary>samples/NAME/bin/&lt;configuration&gt;/net10.0/NAME.dll, in the configuration these tests were built in.</summary>
    public static string Dll(string name)
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = bin.Parent!.Name;
        var root = bin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Supervisor.sln"))) root = root.Parent;
        var dll = Path.Combine(root?.FullName ?? throw new InvalidOperationException("Supervisor.sln not found above the tests"),
            "samples", name, "bin", configuration, bin.Name, name + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build the solution first: {dll} is missing");
    }
}

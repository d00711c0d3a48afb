using System.Reflection;
using Vivim.Anchors;
using Vivim.Hosting;

namespace Vivim.Tests.Storage;

public sealed class StateNameTests
{
    /// <summary>
    /// The ADO.NET provider keys a record by state name and grain key, not by grain type: two grain classes with one
    /// state name would share records whenever their keys meet (anchor and clone grains are both keyed by strings).
    /// </summary>
    [Fact]
    public void Every_grain_class_has_state_names_of_its_own_on_the_vivim_provider()
    {
        var states = typeof(AnchorStateGrain).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IGrainBase).IsAssignableFrom(t))
            .SelectMany(t => t.GetConstructors().SelectMany(c => c.GetParameters())
                .Select(p => p.GetCustomAttribute<PersistentStateAttribute>())
                .OfType<PersistentStateAttribute>()
                .Where(a => a.StorageName == VivimProviders.GrainState)
                .Select(a => (Grain: t, a.StateName)))
            .Distinct()
            .ToList();

        Assert.NotEmpty(states);
        var shared = states.GroupBy(s => s.StateName, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(s => s.Grain.Name))}").ToList();
        Assert.Empty(shared);
    }
}

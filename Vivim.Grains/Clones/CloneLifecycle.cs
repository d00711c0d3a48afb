namespace Vivim.Clones;

/// <summary>Where a registered clone stands: suspended clones may be reinstated, removed ones are gone for good.</summary>
[GenerateSerializer, Alias("vivim.CloneLifecycle")]
public enum CloneLifecycle
{
    Active,
    Suspended,
    Removed,
}

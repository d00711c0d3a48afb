using Vivim.Protocol.Model;

namespace Vivim.ExitNodes;

[GenerateSerializer, Immutable, Alias("vivim.AdvertisementChange")]
public sealed record AdvertisementChange(
    IReadOnlyList<string>? Capabilities = null,
    ExitNodePolicy? Policy = null,
    ExitNodeEndpoints? Endpoints = null);

namespace Vivim.Clones;

[GenerateSerializer, Immutable, Alias("vivim.SyncTicket")]
public sealed record SyncTicket(string Ticket, long ExpiresAt);

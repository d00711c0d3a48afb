using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Vivim.Gateway.P2p.Ownership;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Gossip;

/// <summary>
/// Puts the commits of the DIDs this gateway owns on GossipSub. It joins each owned DID's topic (so it validates and
/// relays what reaches it) but follows a DID's commits only while the topic has subscribers among its peers: the
/// first subscriber starts a <see cref="DidPublication"/> (which publishes the head), the last one leaving stops it,
/// so idle DIDs hold no feed and cost nothing. Ownership moves publish on from the anchor's head (acquired) or stop
/// and leave the topic (released). One loop applies every change in order.
/// </summary>
public sealed class CommitPublisher : IHostedService, IAsyncDisposable
{
    // What this gateway last published per DID, kept after it gave a DID up: a later take-over publishes on from there.
    private const int MaxRemembered = 100_000;

    private readonly GatewayPeer _peer;
    private readonly IDidOwnership _ownership;
    private readonly IClusterClient _client;
    private readonly CommitValidator _validator;
    private readonly KnownExitNodes _exitNodes;
    private readonly CommitGossipOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CommitPublisher> _logger;
    private readonly CallPrincipals? _principals;
    private readonly Channel<Change> _changes = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _joined = new(StringComparer.Ordinal); // loop only
    private readonly Dictionary<string, long> _lastPublished = new(StringComparer.Ordinal); // loop only
    private readonly ConcurrentDictionary<string, DidPublication> _publications = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private int _started;

    public CommitPublisher(
        GatewayPeer peer,
        IDidOwnership ownership,
        IClusterClient client,
        CommitValidator validator,
        KnownExitNodes exitNodes,
        IOptions<CommitGossipOptions> options,
        TimeProvider time,
        ILogger<CommitPublisher> logger,
        CallPrincipals? principals = null)
    {
        _peer = peer;
        _ownership = ownership;
        _client = client;
        _validator = validator;
        _exitNodes = exitNodes;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _principals = principals;
    }

    private GossipSub Pubsub => _peer.Pubsub;

    /// <summary>DIDs whose commits are being followed and published now (their topics have subscribers).</summary>
    public IReadOnlyCollection<string> PublishingDids => [.. _publications.Where(p => p.Value.Started).Select(p => p.Key)];

    /// <summary>Messages published for a DID by its current publication (0 when none), re-publications included.</summary>
    public long PublishedCount(string did) => _publications.TryGetValue(did, out var p) ? p.Published : 0;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return Task.CompletedTask;
        }

        Pubsub.AddPrefixValidator(CommitTopics.Prefix, _validator.Validate);
        Pubsub.TopicPeerChanged += OnTopicPeerChanged;
        _ownership.Changed += OnOwnershipChanged;
        _changes.Writer.TryWrite(new Change([.. _ownership.OwnedDids], [], null));
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 2) != 1)
        {
            return;
        }

        _ownership.Changed -= OnOwnershipChanged;
        Pubsub.TopicPeerChanged -= OnTopicPeerChanged;
        await _stopping.CancelAsync();
        _changes.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var publication in _publications.Values)
        {
            await publication.DisposeAsync();
        }

        _publications.Clear();
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    private void OnOwnershipChanged(object? sender, DidOwnershipChange change) =>
        _changes.Writer.TryWrite(new Change(change.Acquired, change.Released, null));

    private void OnTopicPeerChanged(object? sender, TopicPeerChangedEventArgs e)
    {
        if (CommitTopics.TryGetDid(e.Topic, out var did))
        {
            _changes.Writer.TryWrite(new Change([], [], did));
        }
    }

    private async Task RunAsync()
    {
        await foreach (var change in _changes.Reader.ReadAllAsync())
        {
            try
            {
                foreach (var did in change.Released)
                {
                    await ReleaseAsync(did);
                }

                foreach (var did in change.Acquired)
                {
                    await AcquireAsync(did);
                }

                if (change.TopicOf is { } topicDid && _joined.Contains(topicDid))
                {
                    await FollowSubscribersAsync(topicDid);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger.LogWarning(e, "Applying a change of owned DIDs or of topic subscribers failed");
            }
        }
    }

    private async Task AcquireAsync(string did)
    {
        if (!_ownership.Owns(did) || !_joined.Add(did))
        {
            return;
        }

        _ = _exitNodes.CheckAsync(did); // validation finds the answer ready
        Pubsub.Subscribe(CommitTopics.For(did));
        await FollowSubscribersAsync(did);
    }

    private async Task ReleaseAsync(string did)
    {
        if (!_joined.Remove(did))
        {
            return;
        }

        await StopPublishingAsync(did);
        Pubsub.Unsubscribe(CommitTopics.For(did));
        _validator.Forget(did);
        _exitNodes.Forget(did);
    }

    /// <summary>Publishes while the topic has subscribers, not otherwise.</summary>
    private async Task FollowSubscribersAsync(string did)
    {
        var subscribed = Pubsub.TopicPeers(CommitTopics.For(did)).Count > 0;
        if (subscribed && !_publications.ContainsKey(did))
        {
            // Started off the loop: a start waits on the DID's anchor, which may be unreachable for a while right after
            // a silo died, and must not hold up the other DIDs' changes. Listed at once, so a later change sees it.
            var publication = new DidPublication(did, _client, Pubsub, _validator, _options, _time, _logger, _principals);
            _publications[did] = publication;
            _ = StartAsync(did, publication, _lastPublished.TryGetValue(did, out var last) ? last : null);
        }
        else if (!subscribed && _publications.ContainsKey(did))
        {
            await StopPublishingAsync(did);
        }
    }

    private async Task StartAsync(string did, DidPublication publication, long? lastPublished)
    {
        try
        {
            await publication.StartAsync(lastPublished);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Only if it is still the one listed: a stop (or a newer start) in the meantime has dealt with it.
            if (_publications.TryRemove(new KeyValuePair<string, DidPublication>(did, publication)))
            {
                await publication.DisposeAsync();
                _logger.LogWarning(e, "Starting to publish the commits of {Did} failed; trying again in {Delay}", did, _options.StartRetryDelay);
                await RetryLaterAsync(did);
            }
        }
    }

    private async Task RetryLaterAsync(string did)
    {
        try
        {
            await Task.Delay(_options.StartRetryDelay, _time, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        _changes.Writer.TryWrite(new Change([], [], did)); // re-evaluated as a subscriber change: only if still owned and subscribed
    }

    private async Task StopPublishingAsync(string did)
    {
        if (!_publications.TryRemove(did, out var publication))
        {
            return;
        }

        await publication.DisposeAsync();
        if (publication.LatestSeq > 0)
        {
            if (_lastPublished.Count >= MaxRemembered)
            {
                _lastPublished.Clear();
            }

            _lastPublished[did] = publication.LatestSeq;
        }
    }

    /// <summary>One step for the loop: ownership moved, or the subscribers of a DID's topic changed.</summary>
    private sealed record Change(IReadOnlyList<string> Acquired, IReadOnlyList<string> Released, string? TopicOf);
}

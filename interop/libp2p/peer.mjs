// js-libp2p 3.x test peer for Vivim.Libp2p interop tests.
// Protocol: one JSON object per line. stdout: {"event":"ready",...} first, then one reply per command
// ({"id":n,"ok":true,...} or {"id":n,"ok":false,"error":"..."}). Logs go to stderr.
import { createInterface } from 'node:readline'
import { createHash, randomBytes } from 'node:crypto'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

export const ECHO = '/vivim/echo/1.0.0'
const vivimVersion = (v) => Number(/^v=(\d+);/.exec(new TextDecoder().decode(v))?.[1] ?? -1)
const STREAM_LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 }

export async function createPeer (opts = {}) {
  const options = {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 10000, inboundConnectionThreshold: 100000, maxIncomingPendingConnections: 1000, maxParallelDials: 100 },
    nodeInfo: { userAgent: 'vivim-interop-js/1.0.0' },
    services: { identify: identify(), identifyPush: identifyPush(), ping: ping() }
  }
  if (opts.dht) {
    options.services.dht = kadDHT({
      protocol: '/ipfs/kad/1.0.0',
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      allowQueryWithZeroPeers: true,
      // "/vivim/..." values are "v=<version>;<payload>"; the highest version wins (same rule as the C# tests)
      validators: { vivim: async (_key, value) => { if (!/^v=\d+;/.test(new TextDecoder().decode(value))) throw new Error('invalid /vivim/ record') } },
      selectors: { vivim: (_key, values) => { let best = 0; values.forEach((v, i) => { if (vivimVersion(v) > vivimVersion(values[best])) best = i }); return best } }
    })
  }
  if (opts.gossip) {
    // js default msgIdFn for StrictSign (PublicKey protobuf || seqno) is what Vivim.Libp2p uses by default too
    options.services.pubsub = gossipsub({ allowPublishToZeroTopicPeers: true, globalSignaturePolicy: 'StrictSign', heartbeatInterval: opts.heartbeat ?? 1000, emitSelf: false })
  }
  if (opts.seed != null) options.privateKey = await generateKeyPairFromSeed('Ed25519', Buffer.from(opts.seed, 'hex'))
  const node = await createLibp2p(options)
  await node.handle(ECHO, async (stream) => {
    try {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    } catch (err) {
      stream.abort(err)
    }
  }, STREAM_LIMITS)
  return node
}

const toBytes = (c) => (c instanceof Uint8Array ? c : c.subarray())

// Sends `size` random bytes on `stream` while reading everything back; returns hashes of both directions.
export async function echoRoundTrip (stream, size, chunkSize = 64 * 1024) {
  const sent = createHash('sha256')
  const got = createHash('sha256')
  let received = 0
  const reader = (async () => {
    for await (const chunk of stream) {
      const b = toBytes(chunk)
      got.update(b)
      received += b.length
    }
  })()
  let left = size
  while (left > 0) {
    const n = Math.min(chunkSize, left)
    const buf = randomBytes(n)
    sent.update(buf)
    left -= n
    if (!stream.send(buf)) await stream.onDrain()
  }
  await stream.close()
  await reader
  return { sent: sent.digest('hex'), received: got.digest('hex'), bytes: received }
}

const received = new Map()

// it-length-prefixed framing: an unsigned varint byte length, then the bytes
function lengthPrefixed (bytes) {
  const prefix = []
  let n = bytes.length
  do { let b = n & 0x7f; n = Math.floor(n / 128); if (n > 0) b |= 0x80; prefix.push(b) } while (n > 0)
  return Buffer.concat([Buffer.from(prefix), Buffer.from(bytes)])
}

function readUvarint (buf) {
  let value = 0; let shift = 1
  for (let i = 0; i < buf.length && i < 9; i++) {
    value += (buf[i] & 0x7f) * shift
    if ((buf[i] & 0x80) === 0) return [value, i + 1]
    shift *= 128
  }
  throw new Error('bad varint in answer')
}

function target (cmd) {
  if (cmd.addr != null) return multiaddr(cmd.addr)
  return peerIdFromString(cmd.peer)
}

async function handle (node, cmd) {
  switch (cmd.cmd) {
    case 'dial': {
      const conn = await node.dial(target(cmd))
      return { peerId: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString() }
    }
    case 'ping': {
      const rtt = await node.services.ping.ping(target(cmd))
      return { rtt }
    }
    case 'identify': {
      const conn = node.getConnections(peerIdFromString(cmd.peer))[0]
      if (conn == null) throw new Error('not connected')
      const r = await node.services.identify.identify(conn)
      return {
        peerId: r.peerId.toString(),
        agentVersion: r.agentVersion,
        protocolVersion: r.protocolVersion,
        protocols: r.protocols,
        listenAddrs: r.listenAddrs.map(a => a.toString()),
        observedAddr: r.observedAddr?.toString(),
        publicKey: r.publicKey == null ? null : Buffer.from(r.publicKey).toString('hex')
      }
    }
    case 'peerStore': {
      const id = peerIdFromString(cmd.peer)
      if (!(await node.peerStore.has(id))) return { protocols: [], addrs: [] }
      const p = await node.peerStore.get(id)
      return { protocols: p.protocols, addrs: p.addresses.map(a => a.multiaddr.toString()) }
    }
    case 'echo': {
      const peer = target(cmd)
      const results = await Promise.all(Array.from({ length: cmd.streams }, async () => {
        const stream = await node.dialProtocol(peer, cmd.protocol ?? ECHO, STREAM_LIMITS)
        return echoRoundTrip(stream, cmd.bytesPerStream)
      }))
      return { results }
    }
    case 'dhtTable': {
      const rt = node.services.dht.routingTable
      const peers = cmd.peers ?? []
      const present = []
      for (const p of peers) if ((await rt.find(peerIdFromString(p))) != null) present.push(p)
      return { size: rt.size, present }
    }
    case 'dhtFindPeer': {
      const info = await node.peerRouting.findPeer(peerIdFromString(cmd.peer), { signal: AbortSignal.timeout(20000) })
      return { peer: info.id.toString(), addrs: info.multiaddrs.map(a => a.toString()) }
    }
    case 'dhtClosest': {
      const key = cmd.peer != null ? peerIdFromString(cmd.peer).toMultihash().bytes : Buffer.from(cmd.key, 'hex')
      const peers = []
      const queried = []
      for await (const e of node.services.dht.getClosestPeers(key, { signal: AbortSignal.timeout(20000) })) {
        if (e.name === 'FINAL_PEER') peers.push(e.peer.id.toString())
        if (e.name === 'PEER_RESPONSE') queried.push({ from: e.from.toString(), closer: e.closer.map(p => p.id.toString()) })
      }
      return { peers, queried }
    }
    case 'dhtProvide': {
      const cid = CID.createV1(0x55, Digest.decode(Buffer.from(cmd.mh, 'hex')))
      const told = []
      for await (const e of node.services.dht.provide(cid, { signal: AbortSignal.timeout(20000) })) {
        if (e?.name === 'PEER_RESPONSE') told.push(e.from.toString())
      }
      return { told }
    }
    case 'dhtFindProviders': {
      const cid = CID.createV1(0x55, Digest.decode(Buffer.from(cmd.mh, 'hex')))
      const providers = []
      for await (const p of node.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(20000) })) {
        providers.push({ peer: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString()) })
        if (providers.length >= (cmd.max ?? 1)) break
      }
      return { providers }
    }
    case 'gsSubscribe': {
      node.services.pubsub.subscribe(cmd.topic)
      return {}
    }
    case 'gsUnsubscribe': {
      node.services.pubsub.unsubscribe(cmd.topic)
      return {}
    }
    case 'gsPublish': {
      // publishes count messages `${prefix}${i}` (or one `data`), in order
      const enc = new TextEncoder()
      const datas = cmd.count != null ? Array.from({ length: cmd.count }, (_, i) => `${cmd.prefix}${i}`) : [cmd.data]
      let recipients = 0
      for (const d of datas) recipients += (await node.services.pubsub.publish(cmd.topic, enc.encode(d))).recipients.length
      return { recipients }
    }
    case 'gsMesh': {
      return { mesh: node.services.pubsub.getMeshPeers(cmd.topic), subscribers: node.services.pubsub.getSubscribers(cmd.topic).map(p => p.toString()) }
    }
    case 'gsReceived': {
      const list = received.get(cmd.topic) ?? []
      return cmd.countOnly ? { count: list.length } : { messages: list }
    }
    case 'gsRejectPrefix': {
      node.services.pubsub.topicValidators.set(cmd.topic, (_peer, msg) =>
        new TextDecoder().decode(msg.data).startsWith(cmd.prefix) ? 'reject' : 'accept')
      return {}
    }
    case 'dhtPut': {
      const enc = new TextEncoder()
      await node.contentRouting.put(enc.encode(cmd.key), enc.encode(cmd.value), { signal: AbortSignal.timeout(20000) })
      return {}
    }
    case 'dhtGet': {
      const v = await node.contentRouting.get(new TextEncoder().encode(cmd.key), { signal: AbortSignal.timeout(20000) })
      return { value: new TextDecoder().decode(v) }
    }
    case 'vivimRequest': {
      // one /vivim/* exchange: a uvarint-length-prefixed JSON request (or `raw` hex bytes), half-close, read the answer
      const stream = await node.dialProtocol(target(cmd), cmd.protocol, STREAM_LIMITS)
      const body = cmd.raw != null ? Buffer.from(cmd.raw, 'hex') : lengthPrefixed(new TextEncoder().encode(cmd.json))
      if (!stream.send(body)) await stream.onDrain()
      await stream.close()
      const chunks = []
      try {
        for await (const chunk of stream) chunks.push(Buffer.from(toBytes(chunk)))
      } catch (err) {
        return { reset: true, error: String(err?.message ?? err) }
      }
      const all = Buffer.concat(chunks)
      if (all.length === 0) return { reset: false, answer: null }
      const [length, offset] = readUvarint(all)
      return { reset: false, answer: JSON.parse(all.subarray(offset, offset + length).toString('utf8')), length }
    }
    case 'connections': {
      return { connections: node.getConnections().map(c => ({ peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), status: c.status })) }
    }
    case 'hangup': {
      await node.hangUp(peerIdFromString(cmd.peer))
      return {}
    }
    case 'stop': {
      await node.stop()
      setTimeout(() => process.exit(0), 50)
      return {}
    }
    default:
      throw new Error(`unknown command ${cmd.cmd}`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seed = process.argv.find(a => a.startsWith('--seed='))?.slice(7)
  const hb = process.argv.find(a => a.startsWith('--heartbeat='))?.slice(12)
  const gossip = process.argv.includes('--gossip')
  const node = await createPeer({ seed, dht: process.argv.includes('--dht'), gossip, heartbeat: hb != null ? Number(hb) : undefined })
  const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
  if (gossip) {
    const dec = new TextDecoder()
    // 'gossipsub:message' carries js's message id (base64, no padding) next to the message
    node.services.pubsub.addEventListener('gossipsub:message', (e) => {
      const m = e.detail.msg
      if (!received.has(m.topic)) received.set(m.topic, [])
      received.get(m.topic).push({ data: dec.decode(m.data), from: m.from?.toString(), msgId: e.detail.msgId })
    })
  }
  node.addEventListener('peer:identify', (e) => {
    out({ event: 'identify', peer: e.detail.peerId.toString(), protocols: e.detail.protocols, agentVersion: e.detail.agentVersion })
  })
  node.addEventListener('peer:update', (e) => {
    out({ event: 'peer:update', peer: e.detail.peer.id.toString(), protocols: e.detail.peer.protocols })
  })
  out({ event: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.trim() === '') return
    let cmd
    try { cmd = JSON.parse(line) } catch { out({ ok: false, error: 'bad json' }); return }
    handle(node, cmd).then(
      (r) => out({ id: cmd.id, ok: true, ...r }),
      (err) => out({ id: cmd.id, ok: false, error: String(err?.stack ?? err) })
    )
  })
  rl.on('close', async () => { await node.stop(); process.exit(0) })
}

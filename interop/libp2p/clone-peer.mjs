// A VIVIM clone on libp2p, in js-libp2p 3.x: its libp2p identity is its DID key (--seed=<hex>), it finds exit nodes on
// the DHT, speaks /vivim/exit-node, /vivim/clone and /vivim/sync (length-prefixed JSON, API.md "libp2p protocols"),
// follows /vivim/sync/<did> on GossipSub, and verifies everything with interop/vectors/clone-checks.mjs.
// Same JSON-lines protocol as peer.mjs: {"event":"ready",...} first, then one reply per command.
import { createInterface } from 'node:readline'
import { createHash, randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { createPeer } from './peer.mjs'
import { Replica, publicKeyOf, publicKeyFromSeed, didOf, signV1, verifyV1, verifyV2 } from '../vectors/clone-checks.mjs'

const MAX_ANSWER = 4 * 1024 * 1024

function encodeVarint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}

const toBytes = (c) => (c instanceof Uint8Array ? c : c.subarray())

/** One request, one answer: length-prefixed UTF-8 JSON both ways; the dialer half-closes after its request. */
export async function request (node, target, protocol, body) {
  const stream = await node.dialProtocol(target, protocol, { signal: AbortSignal.timeout(20000) })
  const chunks = []
  let total = 0
  const reader = (async () => {
    for await (const chunk of stream) {
      const b = toBytes(chunk)
      total += b.length
      if (total > MAX_ANSWER + 10) throw new Error('answer over 4 MiB')
      chunks.push(b)
    }
  })()
  const payload = typeof body === 'string' ? new TextEncoder().encode(body) : new TextEncoder().encode(JSON.stringify(body))
  stream.send(encodeVarint(payload.length))
  stream.send(payload)
  await stream.close()
  await reader
  const all = Buffer.concat(chunks)
  let length = 0; let shift = 0; let i = 0
  for (; i < all.length; i++) {
    length += (all[i] & 0x7f) * 2 ** shift
    shift += 7
    if ((all[i] & 0x80) === 0) { i++; break }
  }
  if (all.length === 0) throw new Error('the stream ended without an answer')
  if (all.length - i !== length) throw new Error(`answer framing: length ${length}, ${all.length - i} bytes followed`)
  return JSON.parse(all.subarray(i).toString('utf8'))
}

const target = (cmd) => (cmd.addr != null ? multiaddr(cmd.addr) : peerIdFromString(cmd.peer))
const mhOf = (text) => Buffer.concat([Buffer.from([0x12, 0x20]), createHash('sha256').update(text, 'utf8').digest()])

const replicas = new Map()
const received = new Map()

async function handle (node, seedHex, cmd) {
  switch (cmd.cmd) {
    case 'dial': {
      await node.dial(multiaddr(cmd.addr), { signal: AbortSignal.timeout(20000) })
      return {}
    }
    case 'findProviders': {
      const cid = CID.createV1(0x55, Digest.decode(mhOf(cmd.key)))
      const providers = []
      for await (const p of node.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(30000) })) {
        providers.push({ peer: p.id.toString(), addrs: p.multiaddrs.map(a => a.toString()) })
        if (providers.length >= (cmd.max ?? 1)) break
      }
      return { providers }
    }
    case 'request': {
      return { answer: await request(node, target(cmd), cmd.protocol, cmd.raw ?? cmd.json) }
    }
    case 'advertisement': {
      const ad = await request(node, target(cmd), '/vivim/exit-node/1.0.0', { did: cmd.did })
      if (ad.error) return { error: ad.error }
      const parentKey = publicKeyOf(cmd.did)
      const verified = ad.did === cmd.did && verifyV2('ExitNodeAdvertisement', ad, parentKey) &&
        verifyV2('AnchorState', ad.anchorState, parentKey) &&
        verifyV1(ad.anchorState, ['cloneId', 'did', 'merkleRoot', 'stateCid', 'timestamp'], parentKey)
      return { advertisement: ad, verified }
    }
    case 'register': {
      const did = didOf(publicKeyFromSeed(seedHex))
      const nonce = randomBytes(16).toString('hex')
      const to = target(cmd)
      const challenge = await request(node, to, '/vivim/clone/1.0.0', { type: 'challenge', exitNode: cmd.exitNode, did, nonce })
      if (challenge.error) return { error: challenge.error }
      const req = {
        did,
        desiredCapabilities: cmd.capabilities ?? ['memory'],
        preferredNetwork: 'mainnet',
        identityProof: signV1(seedHex, { challenge: challenge.challenge, nonce }, ['challenge', 'nonce']),
        timestamp: Date.now(),
        nonce,
        challengeResponse: challenge.challenge
      }
      const response = await request(node, to, '/vivim/clone/1.0.0', { type: 'register', exitNode: cmd.exitNode, request: req })
      const parentKey = publicKeyOf(cmd.exitNode)
      const trustVerified = response.approved === true && response.trustProof?.issuer === cmd.exitNode &&
        response.trustProof?.target === did && verifyV2('TrustProof', response.trustProof, parentKey)
      return { response, did, trustVerified }
    }
    case 'sync': {
      // Snapshot once, then pages until the head, every page verified before it is applied.
      const to = target(cmd)
      let replica = replicas.get(cmd.cloneId)
      if (replica == null) {
        const snapshot = await request(node, to, '/vivim/sync/1.0.0', { type: 'snapshot', cloneId: cmd.cloneId })
        if (snapshot.error) return { error: snapshot.error }
        replica = new Replica(cmd.parentDid, snapshot)
        replicas.set(cmd.cloneId, replica)
      }
      let pages = 0
      let headSeq = replica.seq
      while (true) {
        const page = await request(node, to, '/vivim/sync/1.0.0', { type: 'updates', cloneId: cmd.cloneId, after: replica.seq, limit: cmd.limit ?? 100 })
        if (page.error) return { error: page.error, seq: replica.seq }
        headSeq = page.headSeq
        pages++
        if (page.updates.length === 0 || replica.apply(page) === 0) break
        if (replica.seq >= page.headSeq) break
      }
      const ack = await request(node, to, '/vivim/sync/1.0.0', { type: 'ack', cloneId: cmd.cloneId, seq: replica.seq })
      return { seq: replica.seq, root: replica.root, headSeq, pages, checked: replica.checked, ack }
    }
    case 'subscribe': {
      node.services.pubsub.subscribe(cmd.topic)
      return {}
    }
    case 'subscribers': {
      return { mesh: node.services.pubsub.getMeshPeers(cmd.topic), subscribers: node.services.pubsub.getSubscribers(cmd.topic).map(p => p.toString()) }
    }
    case 'commits': {
      // What arrived on the topic, each checked as a commit of the topic's DID.
      const parentKey = publicKeyOf(cmd.did)
      const list = (received.get(`/vivim/sync/${cmd.did}`) ?? []).map(m => {
        let commit
        try { commit = JSON.parse(m.data) } catch { return { from: m.from, verified: false, data: m.data } }
        return { from: m.from, fromSeq: commit.fromSeq, toSeq: commit.toSeq, root: commit.root, verified: commit.did === cmd.did && verifyV2('Commit', commit, parentKey) }
      })
      return { commits: list }
    }
    case 'publish': {
      const r = await node.services.pubsub.publish(cmd.topic, new TextEncoder().encode(cmd.data))
      return { recipients: r.recipients.length }
    }
    case 'stop': {
      setTimeout(async () => { await node.stop(); process.exit(0) }, 10)
      return {}
    }
    default:
      throw new Error(`unknown command ${cmd.cmd}`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seed = process.argv.find(a => a.startsWith('--seed='))?.slice(7)
  if (seed == null || !/^[0-9a-f]{64}$/.test(seed)) {
    process.stderr.write('usage: node --import ./polyfill.mjs clone-peer.mjs --seed=<64 hex: the clone DID key seed>\n')
    process.exit(2)
  }
  const node = await createPeer({ seed, dht: true, gossip: true, heartbeat: 200 })
  const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
  const dec = new TextDecoder()
  node.services.pubsub.addEventListener('gossipsub:message', (e) => {
    const m = e.detail.msg
    if (!received.has(m.topic)) received.set(m.topic, [])
    received.get(m.topic).push({ data: dec.decode(m.data), from: m.from?.toString() })
  })
  out({ event: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()), did: didOf(publicKeyFromSeed(seed)) })
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.trim() === '') return
    let cmd
    try { cmd = JSON.parse(line) } catch { out({ ok: false, error: 'bad json' }); return }
    handle(node, seed, cmd).then(
      (r) => out({ id: cmd.id, ok: true, ...r }),
      (err) => out({ id: cmd.id, ok: false, error: String(err?.stack ?? err) })
    )
  })
  rl.on('close', async () => { await node.stop(); process.exit(0) })
}

// Independent JavaScript implementation of the Vivim v2 state tree (compacted sparse Merkle tree) and its proofs,
// written from docs/protocol.md §6. It follows the recursive definition literally (one step per bit level, no
// compaction tricks) so that it shares no shortcuts with the C# tree it checks.
import { sha256 } from '@noble/hashes/sha2.js';

const utf8 = new TextEncoder();

export class MerkleProofFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MerkleProofFormatError';
    this.code = 'invalid-merkle-proof';
  }
}

export const KIND_INCLUSION = 0;
export const KIND_NON_INCLUSION_EMPTY = 1;
export const KIND_NON_INCLUSION_LEAF = 2;

export const EMPTY = sha256(Uint8Array.of(0x00));

function tagged(tag, a, b) {
  const buf = new Uint8Array(65);
  buf[0] = tag;
  buf.set(a, 1);
  buf.set(b, 33);
  return sha256(buf);
}

export const leafHash = (key, value) => tagged(0x01, key, value);
export const nodeHash = (left, right) => tagged(0x02, left, right);

export function keyOf(path) {
  // TextEncoder would silently replace a lone surrogate; such a path has no UTF-8 form and no key.
  if (typeof path !== 'string' || !path.isWellFormed()) throw new TypeError('path must be a well-formed string');
  return sha256(utf8.encode(path));
}

const bit = (key, i) => (key[i >> 3] >> (7 - (i & 7))) & 1;

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytes32(value, what) {
  const b = typeof value === 'string' ? fromHex(value) : value;
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new TypeError(`${what} must be 32 bytes`);
  return b;
}

// documents: Map or plain object, path -> value hash (Uint8Array(32) or hex).
function entriesOf(documents) {
  const pairs = documents instanceof Map ? [...documents] : Object.entries(documents);
  return pairs.map(([path, value]) => ({ key: keyOf(path), value: bytes32(value, `value of ${path}`) }));
}

// leaves: Map or plain object, key hex -> value hash; lets tests force keys with long shared prefixes.
function entriesOfKeys(leaves) {
  const pairs = leaves instanceof Map ? [...leaves] : Object.entries(leaves);
  return pairs.map(([key, value]) => ({ key: bytes32(key, 'key'), value: bytes32(value, `value of ${key}`) }));
}

// hash(prefix) = EMPTY for no key, leaf for exactly one, else node(hash(prefix‖0), hash(prefix‖1)).
function subtreeHash(entries, depth) {
  if (entries.length === 0) return EMPTY;
  if (entries.length === 1) return leafHash(entries[0].key, entries[0].value);
  const zero = [];
  const one = [];
  for (const e of entries) (bit(e.key, depth) ? one : zero).push(e);
  return nodeHash(subtreeHash(zero, depth + 1), subtreeHash(one, depth + 1));
}

/** The root of a set of documents (Map path -> value hash), as lowercase hex. */
export function merkleRoot(documents) {
  return toHex(subtreeHash(entriesOf(documents), 0));
}

/** The root of a set of raw leaves (Map key hex -> value hash), as lowercase hex. */
export function merkleRootOfKeys(leaves) {
  return toHex(subtreeHash(entriesOfKeys(leaves), 0));
}

/** The canonical proof (inclusion if present, else non-inclusion) for `path`, as unpadded base64url. */
export function merkleProof(documents, path) {
  return proofFor(entriesOf(documents), keyOf(path));
}

/** The canonical proof for a raw key (hex or bytes) among raw leaves (Map key hex -> value hash). */
export function merkleProofForKey(leaves, key) {
  return proofFor(entriesOfKeys(leaves), bytes32(key, 'key'));
}

function proofFor(entries, key) {
  let set = entries;
  const siblings = []; // null = empty subtree
  let kind;
  let other = null;
  for (let depth = 0; ; depth++) {
    if (set.length === 0) {
      kind = KIND_NON_INCLUSION_EMPTY;
      break;
    }
    if (set.length === 1) {
      if (equalBytes(set[0].key, key)) {
        kind = KIND_INCLUSION;
      } else {
        kind = KIND_NON_INCLUSION_LEAF;
        other = set[0];
      }
      break;
    }
    const same = [];
    const away = [];
    for (const e of set) (bit(e.key, depth) === bit(key, depth) ? same : away).push(e);
    siblings.push(away.length === 0 ? null : subtreeHash(away, depth + 1));
    set = same;
  }
  return base64urlEncode(encodeProof({ kind, otherKey: other?.key, otherValue: other?.value, siblings }));
}

/** Binary form of { kind, otherKey?, otherValue?, siblings: (Uint8Array|null)[] } (null = EMPTY). */
export function encodeProof({ kind, otherKey, otherValue, siblings }) {
  const n = siblings.length;
  const present = siblings.filter((s) => s !== null);
  const head = kind === KIND_NON_INCLUSION_LEAF ? 66 : 2;
  const bitmapLength = (n + 7) >> 3;
  const out = new Uint8Array(head + 2 + bitmapLength + 32 * present.length);
  out[0] = 0x01;
  out[1] = kind;
  if (kind === KIND_NON_INCLUSION_LEAF) {
    out.set(otherKey, 2);
    out.set(otherValue, 34);
  }
  out[head] = n >> 8;
  out[head + 1] = n & 0xff;
  siblings.forEach((s, i) => {
    if (s !== null) out[head + 2 + (i >> 3)] |= 0x80 >> (i & 7);
  });
  present.forEach((s, j) => out.set(s, head + 2 + bitmapLength + 32 * j));
  return out;
}

/** Parses and checks the canonical binary form; throws MerkleProofFormatError otherwise. */
export function decodeProof(bytes) {
  const fail = (why) => {
    throw new MerkleProofFormatError(why);
  };
  if (bytes.length < 4) fail('truncated');
  if (bytes[0] !== 0x01) fail('unknown version');
  const kind = bytes[1];
  if (kind > 2) fail('unknown kind');
  let pos = 2;
  let otherKey = null;
  let otherValue = null;
  if (kind === KIND_NON_INCLUSION_LEAF) {
    if (bytes.length < pos + 66) fail('truncated');
    otherKey = bytes.slice(pos, pos + 32);
    otherValue = bytes.slice(pos + 32, pos + 64);
    pos += 64;
  }
  const n = (bytes[pos] << 8) | bytes[pos + 1];
  pos += 2;
  if (n > 256) fail('depth over 256');
  const bitmapLength = (n + 7) >> 3;
  if (bytes.length < pos + bitmapLength) fail('truncated');
  const bitmap = bytes.slice(pos, pos + bitmapLength);
  pos += bitmapLength;
  const has = (i) => ((bitmap[i >> 3] >> (7 - (i & 7))) & 1) === 1;
  for (let i = n; i < bitmapLength * 8; i++) if (has(i)) fail('unused bitmap bit set');
  const siblings = [];
  for (let i = 0; i < n; i++) {
    if (has(i)) {
      if (bytes.length < pos + 32) fail('truncated');
      siblings.push(bytes.slice(pos, pos + 32));
      pos += 32;
    } else {
      siblings.push(null);
    }
  }
  if (pos !== bytes.length) fail('trailing bytes');
  if (kind !== KIND_NON_INCLUSION_EMPTY && n > 0 && siblings[n - 1] === null) fail('leaf beside an empty sibling');
  return { kind, otherKey, otherValue, siblings };
}

/**
 * Checks "path is present with valueHash" (valueHash non-null) or "path is absent" (null) under rootHex.
 * Returns false for a well-formed proof that does not establish the claim; throws MerkleProofFormatError
 * for a malformed one.
 */
export function verifyProof(rootHex, path, valueHashOrNull, proofBase64url) {
  return verifyProofForKey(rootHex, keyOf(path), valueHashOrNull, proofBase64url);
}

/** As verifyProof, for a raw 32-byte key (hex or bytes). */
export function verifyProofForKey(rootHex, keyOrHex, valueHashOrNull, proofBase64url) {
  const root = bytes32(rootHex, 'root');
  const key = bytes32(keyOrHex, 'key');
  const proof = decodeProof(base64urlDecode(proofBase64url));
  const n = proof.siblings.length;
  let h;
  if (valueHashOrNull !== null && valueHashOrNull !== undefined) {
    if (proof.kind !== KIND_INCLUSION) return false;
    h = leafHash(key, bytes32(valueHashOrNull, 'value'));
  } else if (proof.kind === KIND_NON_INCLUSION_EMPTY) {
    h = EMPTY;
  } else if (proof.kind === KIND_NON_INCLUSION_LEAF) {
    if (equalBytes(proof.otherKey, key)) return false;
    for (let i = 0; i < n; i++) if (bit(proof.otherKey, i) !== bit(key, i)) return false;
    h = leafHash(proof.otherKey, proof.otherValue);
  } else {
    return false;
  }
  for (let i = n - 1; i >= 0; i--) {
    const s = proof.siblings[i] ?? EMPTY;
    h = bit(key, i) === 0 ? nodeHash(h, s) : nodeHash(s, h);
  }
  return equalBytes(h, root);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function base64urlEncode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += ALPHABET[(chunk >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Strict: unpadded alphabet only, and the unused bits of the last character must be zero. */
export function base64urlDecode(text) {
  if (typeof text !== 'string' || text.length % 4 === 1) throw new MerkleProofFormatError('not base64url');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new MerkleProofFormatError('not base64url');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) throw new MerkleProofFormatError('non-zero trailing bits');
  return out;
}

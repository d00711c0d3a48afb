// Verification in the browser, written from docs/protocol.md: RFC 8785 canonical JSON (§2.2), the v2 signature rule
// (§3.2) with WebCrypto's Ed25519, did:key (§1) and the state tree's proofs (§6.3). The console shows what it shows
// only with the result of these checks, never on the service's word.
const utf8 = new TextEncoder();

/** RFC 8785 of a value as JSON.parse gave it: sorted members (UTF-16 code units), ES number and string forms. */
export function canonical(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('not a JSON number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  const keys = Object.keys(value).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonical(value[k])).join(',') + '}';
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(text) {
  let bytes = [0];
  for (const c of text) {
    const digit = ALPHABET.indexOf(c);
    if (digit < 0) throw new Error('not base58btc');
    let carry = digit;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) { bytes.push(carry & 0xff); carry >>= 8; }
  }
  for (const c of text) { if (c === '1') bytes.push(0); else break; }
  return Uint8Array.from(bytes.reverse());
}

/** The 32-byte Ed25519 key a did:key names. */
export function publicKeyOf(did) {
  if (typeof did !== 'string' || !did.startsWith('did:key:z') || did.length > 64) throw new Error('not a did:key');
  const bytes = base58(did.slice('did:key:z'.length));
  if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) throw new Error('not an Ed25519 did:key');
  return bytes.slice(2);
}

export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new Error('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const keys = new Map();
async function verifyingKey(did) {
  if (!keys.has(did)) keys.set(did, crypto.subtle.importKey('raw', publicKeyOf(did), { name: 'Ed25519' }, false, ['verify']));
  return keys.get(did);
}

/**
 * The v2 proof of a signed object: kind is StateUpdate, StateSnapshot, TrustProof, ExitNodeAdvertisement,
 * AnchorState or Commit. Resolves {ok, reason}.
 */
export async function verifyV2(kind, object, signerDid) {
  try {
    const proof = object?.proof;
    if (!proof || proof.type !== 'vivim-v2' || typeof proof.signature !== 'string' || !/^[0-9a-f]{128}$/i.test(proof.signature)
      || Object.keys(proof).length !== 2) {
      return { ok: false, reason: 'no well-formed v2 proof' };
    }
    const signed = { ...object };
    delete signed.signature;
    delete signed.proof;
    if (kind === 'StateUpdate') { delete signed.seq; delete signed.merkleProof; }
    const message = utf8.encode(`vivim-v2:${kind}:` + canonical(signed));
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, await verifyingKey(signerDid), fromHex(proof.signature), message);
    return ok ? { ok: true } : { ok: false, reason: `the ${kind} signature does not verify under ${signerDid}` };
  } catch (e) {
    return { ok: false, reason: String(e?.message ?? e) };
  }
}

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

async function tagged(tag, a, b) {
  const buf = new Uint8Array(65);
  buf[0] = tag;
  buf.set(a, 1);
  buf.set(b, 33);
  return sha256(buf);
}

function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error('not base64url');
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

const bit = (key, i) => (key[i >> 3] >> (7 - (i & 7))) & 1;
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Inclusion of document at path under rootHex (§6.3.3), the proof in its text form. Resolves {ok, reason}. */
export async function verifyInclusion(path, document, proofText, rootHex) {
  try {
    const proof = fromBase64Url(proofText);
    if (proof.length < 4 || proof[0] !== 1) return { ok: false, reason: 'malformed proof' };
    if (proof[1] !== 0) return { ok: false, reason: 'not an inclusion proof' };
    const n = (proof[2] << 8) | proof[3];
    if (n > 256) return { ok: false, reason: 'malformed proof' };
    const bitmap = proof.slice(4, 4 + Math.ceil(n / 8));
    let offset = 4 + bitmap.length;
    const empty = await sha256(Uint8Array.of(0));
    const siblings = [];
    for (let i = 0; i < n; i++) {
      if ((bitmap[i >> 3] >> (7 - (i & 7))) & 1) {
        if (offset + 32 > proof.length) return { ok: false, reason: 'malformed proof' };
        siblings.push(proof.slice(offset, offset + 32));
        offset += 32;
      } else {
        siblings.push(empty);
      }
    }
    if (offset !== proof.length) return { ok: false, reason: 'malformed proof' };
    const key = await sha256(utf8.encode(path));
    const value = await sha256(utf8.encode(canonical(document)));
    let h = await tagged(1, key, value);
    for (let i = n - 1; i >= 0; i--) h = bit(key, i) === 0 ? await tagged(2, h, siblings[i]) : await tagged(2, siblings[i], h);
    return equal(h, fromHex(rootHex)) ? { ok: true } : { ok: false, reason: 'the proof does not lead to the signed root' };
  } catch (e) {
    return { ok: false, reason: String(e?.message ?? e) };
  }
}

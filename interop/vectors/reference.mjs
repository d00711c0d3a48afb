// JavaScript's own answers for differential tests: reads {"numbers": [IEEE-754 bits as 16 hex], "texts": [JSON text]}
// from the file named on the command line and prints {"numbers": [String(x)], "stringify": [...], "jcs": [...]}.
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const view = new DataView(new ArrayBuffer(8));
const numbers = (input.numbers ?? []).map((bits) => {
  view.setBigUint64(0, BigInt('0x' + bits));
  const x = view.getFloat64(0);
  return { string: String(x), jcs: Number.isFinite(x) ? canonicalize(x) : null };
});
const texts = (input.texts ?? []).map((t) => {
  const value = JSON.parse(t);
  let jcs;
  try { jcs = canonicalize(value); } catch (e) { jcs = null; }
  return { stringify: JSON.stringify(value), jcs };
});
process.stdout.write(JSON.stringify({ numbers, texts }));

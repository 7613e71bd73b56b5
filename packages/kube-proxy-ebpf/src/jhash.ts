/**
 * Bob Jenkins' lookup3 as the Linux kernel's `jhash.h` has it, and the
 * 5-tuple hash Cilium's datapath computes from it to index a Maglev table
 * (`bpf/lib/hash.h`: the destination address is left out so one backend
 * choice holds across a service's frontends).
 */

function rol32(w: number, s: number): number {
  return ((w << s) | (w >>> (32 - s))) >>> 0;
}

function final(a0: number, b0: number, c0: number): number {
  let a = a0;
  let b = b0;
  let c = c0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

function mix(abc: [number, number, number]): void {
  let [a, b, c] = abc;
  a = ((a - c) >>> 0) ^ rol32(c, 4);
  c = (c + b) >>> 0;
  b = ((b - a) >>> 0) ^ rol32(a, 6);
  a = (a + c) >>> 0;
  c = ((c - b) >>> 0) ^ rol32(b, 8);
  b = (b + a) >>> 0;
  a = ((a - c) >>> 0) ^ rol32(c, 16);
  c = (c + b) >>> 0;
  b = ((b - a) >>> 0) ^ rol32(a, 19);
  a = (a + c) >>> 0;
  c = ((c - b) >>> 0) ^ rol32(b, 4);
  b = (b + a) >>> 0;
  abc[0] = a >>> 0;
  abc[1] = b >>> 0;
  abc[2] = c >>> 0;
}

const JHASH_INITVAL = 0xdeadbeef;

/** The kernel's `jhash_3words(a, b, c, initval)`. */
export function jhash3words(a: number, b: number, c: number, initval: number): number {
  const iv = (initval + JHASH_INITVAL + (3 << 2)) >>> 0;
  return final((a + iv) >>> 0, (b + iv) >>> 0, (c + iv) >>> 0);
}

/** A 16-bit port as its network-order bytes read by a little-endian CPU. */
function rawPort(p: number): number {
  return ((p & 0xff) << 8) | ((p >>> 8) & 0xff);
}

/** Four network-order address bytes read as a little-endian u32. */
function rawWord(w: number): number {
  return (((w & 0xff) << 24) | (((w >>> 8) & 0xff) << 16) | (((w >>> 16) & 0xff) << 8) | ((w >>> 24) & 0xff)) >>> 0;
}

/**
 * Cilium's `__hash_from_tuple_v4` on a little-endian node: jhash of the source
 * address, `dport << 16 | sport` and the protocol, seeded with the second word
 * of the Maglev hash seed. `saddr` is the IPv4 value (host order), ports in host order.
 */
export function hashTupleV4(saddr: number, sport: number, dport: number, proto: number, seed: number): number {
  return jhash3words(rawWord(saddr), ((rawPort(dport) << 16) | rawPort(sport)) >>> 0, proto, seed);
}

/** Cilium's `__hash_from_tuple_v6` on a little-endian node (`saddr` as four host-order words). */
export function hashTupleV6(
  saddr: readonly [number, number, number, number],
  sport: number,
  dport: number,
  proto: number,
  seed: number,
): number {
  const abc: [number, number, number] = [rawWord(saddr[0]), rawWord(saddr[1]), rawWord(saddr[2])];
  mix(abc);
  abc[0] = (abc[0] + rawWord(saddr[3])) >>> 0;
  abc[1] = (abc[1] + (((rawPort(dport) << 16) | rawPort(sport)) >>> 0)) >>> 0;
  abc[2] = (abc[2] + proto) >>> 0;
  mix(abc);
  abc[0] = (abc[0] + seed) >>> 0;
  return final(abc[0], abc[1], abc[2]);
}

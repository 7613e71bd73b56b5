/**
 * The hash functions the kernel's IPVS schedulers use, reproduced bit for bit.
 *
 * - `hash_32()` from include/linux/hash.h: multiply by GOLDEN_RATIO_32
 *   (0x61C88647) and keep the top `bits` bits (the generic version, used on x86
 *   and arm64). ip_vs_sh.c, ip_vs_dh.c, ip_vs_lblc.c and ip_vs_lblcr.c index
 *   their tables with it.
 * - `hsiphash()` from lib/siphash.c as compiled on a 64-bit kernel: there it is
 *   SipHash-1-3 over 64-bit words (on 32-bit kernels it is HalfSipHash-1-3, which
 *   gives other values), the 64-bit result truncated to 32 bits. ip_vs_mh.c hashes
 *   a 4-byte host-order `u32` with it, so on a little-endian CPU the message bytes
 *   are the value's little-endian bytes.
 * - The address fold the schedulers apply first: IPv4 is the address in host
 *   order; IPv6 XORs the four 32-bit words (`ip6[0]^ip6[1]^ip6[2]^ip6[3]`, then
 *   `ntohl`), which equals XORing the words as numbers.
 */
import type { Addr } from "@knet/netstack";

/** `GOLDEN_RATIO_32` of include/linux/hash.h. */
export const GOLDEN_RATIO_32 = 0x61c88647;

/** The kernel's `hash_32(val, bits)`: `(val * GOLDEN_RATIO_32) >> (32 - bits)` on 32 bits. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** The schedulers' address fold: the IPv4 address, or the XOR of an IPv6 address's four words (host order). */
export function addrFold(addr: Addr): number {
  return addr.family === 4 ? addr.w3 >>> 0 : (addr.w0 ^ addr.w1 ^ addr.w2 ^ addr.w3) >>> 0;
}

const M64 = (1n << 64n) - 1n;

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & M64;
}

/**
 * SipHash with `c` compression and `d` finalization rounds over `message` with
 * the 128-bit key `(k0, k1)`; the 64-bit result. SipHash-2-4 is `c=2, d=4`; the
 * kernel's 64-bit `hsiphash` is `c=1, d=3`.
 */
export function sipHash(message: Uint8Array, k0: bigint, k1: bigint, c: number, d: number): bigint {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M64;
    v1 = rotl(v1, 13n);
    v1 ^= v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rotl(v3, 16n);
    v3 ^= v2;
    v0 = (v0 + v3) & M64;
    v3 = rotl(v3, 21n);
    v3 ^= v0;
    v2 = (v2 + v1) & M64;
    v1 = rotl(v1, 17n);
    v1 ^= v2;
    v2 = rotl(v2, 32n);
  };
  const len = message.length;
  const full = len - (len % 8);
  for (let i = 0; i < full; i += 8) {
    let m = 0n;
    for (let k = 7; k >= 0; k--) m = (m << 8n) | BigInt(message[i + k] as number);
    v3 ^= m;
    for (let r = 0; r < c; r++) round();
    v0 ^= m;
  }
  let b = BigInt(len & 0xff) << 56n;
  for (let k = len - 1; k >= full; k--) b |= BigInt(message[k] as number) << BigInt(8 * (k - full));
  v3 ^= b;
  for (let r = 0; r < c; r++) round();
  v0 ^= b;
  v2 ^= 0xffn;
  for (let r = 0; r < d; r++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

/** A 64-bit kernel's `hsiphash_key_t` (two `unsigned long` words). */
export interface HsipKey {
  /** `key[0]`. */
  readonly k0: bigint;
  /** `key[1]`. */
  readonly k1: bigint;
}

const scratch = new Uint8Array(4);

/**
 * The kernel's `hsiphash(&v, sizeof(u32), key)` on a 64-bit little-endian
 * kernel: SipHash-1-3 of the four little-endian bytes of `v`, low 32 bits.
 */
export function hsiphashU32(v: number, key: HsipKey): number {
  const x = v >>> 0;
  scratch[0] = x & 0xff;
  scratch[1] = (x >>> 8) & 0xff;
  scratch[2] = (x >>> 16) & 0xff;
  scratch[3] = x >>> 24;
  return Number(sipHash(scratch, key.k0, key.k1, 1, 3) & 0xffffffffn);
}

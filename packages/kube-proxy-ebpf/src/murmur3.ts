/**
 * MurmurHash3 x64 128-bit (Austin Appleby's reference algorithm), the hash
 * Cilium's `pkg/murmur3` computes on a little-endian machine and feeds into
 * Maglev's permutation. 64-bit lanes are BigInts wrapped to 64 bits.
 */

const MASK64 = (1n << 64n) - 1n;
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function mul64(a: bigint, b: bigint): bigint {
  return (a * b) & MASK64;
}

function fmix64(k: bigint): bigint {
  let x = k;
  x ^= x >> 33n;
  x = mul64(x, 0xff51afd7ed558ccdn);
  x ^= x >> 33n;
  x = mul64(x, 0xc4ceb9fe1a85ec53n);
  x ^= x >> 33n;
  return x;
}

function readLane(data: Uint8Array, at: number, len: number): bigint {
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i] as number);
  return v;
}

/**
 * The two 64-bit halves `[h1, h2]` of MurmurHash3_x64_128 of `data` with a
 * 32-bit `seed` (both halves start at the seed, blocks read little-endian).
 */
export function murmur3Hash128(data: Uint8Array, seed: number): [bigint, bigint] {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`murmur3 seed ${seed} is not a 32-bit unsigned integer`);
  const nblocks = Math.floor(data.length / 16);
  let h1 = BigInt(seed);
  let h2 = BigInt(seed);
  for (let i = 0; i < nblocks; i++) {
    let k1 = readLane(data, i * 16, 8);
    let k2 = readLane(data, i * 16 + 8, 8);
    k1 = mul64(rotl64(mul64(k1, C1), 31n), C2);
    h1 ^= k1;
    h1 = (mul64(rotl64(h1, 27n) + h2, 5n) + 0x52dce729n) & MASK64;
    k2 = mul64(rotl64(mul64(k2, C2), 33n), C1);
    h2 ^= k2;
    h2 = (mul64(rotl64(h2, 31n) + h1, 5n) + 0x38495ab5n) & MASK64;
  }
  const tail = nblocks * 16;
  const rest = data.length - tail;
  if (rest > 8) {
    const k2 = readLane(data, tail + 8, rest - 8);
    h2 ^= mul64(rotl64(mul64(k2, C2), 33n), C1);
  }
  if (rest > 0) {
    const k1 = readLane(data, tail, Math.min(rest, 8));
    h1 ^= mul64(rotl64(mul64(k1, C1), 31n), C2);
  }
  const len = BigInt(data.length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  return [h1, h2];
}

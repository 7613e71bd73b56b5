import { murmur3Hash128 } from "./murmur3.js";

/** Cilium's default Maglev table size M (`--bpf-lb-maglev-table-size`). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 16381;

/** Cilium's default cluster-wide Maglev hash seed (`--bpf-lb-maglev-hash-seed`, 12 bytes base64). */
export const DEFAULT_MAGLEV_HASH_SEED = "JLfvgnHc2kaSUFaI";

/** The table sizes Cilium accepts (primes, each > 100 × a plausible backend count). */
export const MAGLEV_TABLE_SIZES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];

/** Cilium's default backend weight (EndpointSlice endpoints without a weight). */
export const DEFAULT_BACKEND_WEIGHT = 100;

/** Maglev parameters as given on the command line. */
export interface MaglevOptions {
  /** Table size M, one of {@link MAGLEV_TABLE_SIZES} (default 16381). */
  readonly tableSize?: number;
  /** Base64 of 12 bytes (default {@link DEFAULT_MAGLEV_HASH_SEED}). */
  readonly hashSeed?: string;
}

/** Validated Maglev parameters with the seeds derived from the hash seed as Cilium splits it. */
export interface MaglevConfig {
  /** Table size M. */
  readonly tableSize: number;
  /** The base64 seed. */
  readonly hashSeed: string;
  /** Bytes 0..3 big-endian: the murmur3 seed of the backend permutation. */
  readonly seedMurmur: number;
  /** Bytes 4..7 big-endian: jhash seed 0 of the datapath's 5-tuple hash. */
  readonly seedJhash0: number;
  /** Bytes 8..11 big-endian: jhash seed 1 of the datapath's 5-tuple hash. */
  readonly seedJhash1: number;
}

/** One backend of a service as Maglev sees it. */
export interface MaglevBackend {
  /** Backend ID (the value stored in the table). */
  readonly id: number;
  /** IP address in canonical text form. */
  readonly address: string;
  /** Port. */
  readonly port: number;
  /** Upper-case L4 protocol. */
  readonly protocol: "TCP" | "UDP" | "SCTP" | "ANY";
  /** Weight (default {@link DEFAULT_BACKEND_WEIGHT}). */
  readonly weight?: number;
  /** Whether the backend address carries the internal scope (`/i`). */
  readonly internalScope?: boolean;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function be32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

/**
 * Validate Maglev options as Cilium's agent does at start-up.
 * @throws RangeError naming the flag when the table size is not supported or the
 *   seed is not base64 of exactly 12 bytes.
 */
export function maglevConfig(options: MaglevOptions = {}): MaglevConfig {
  const tableSize = options.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  if (!MAGLEV_TABLE_SIZES.includes(tableSize))
    throw new RangeError(
      `invalid --maglev-table-size ${tableSize}: supported values are ${MAGLEV_TABLE_SIZES.join(", ")}`,
    );
  const hashSeed = options.hashSeed ?? DEFAULT_MAGLEV_HASH_SEED;
  if (!BASE64.test(hashSeed))
    throw new RangeError(`invalid --maglev-hash-seed "${hashSeed}": not base64 (e.g. head -c12 /dev/urandom | base64)`);
  const d = Buffer.from(hashSeed, "base64");
  if (d.length !== 12)
    throw new RangeError(`invalid --maglev-hash-seed "${hashSeed}": decodes to ${d.length} bytes, need exactly 12`);
  return { tableSize, hashSeed, seedMurmur: be32(d, 0), seedJhash0: be32(d, 4), seedJhash1: be32(d, 8) };
}

/**
 * The string Cilium hashes and sorts a backend by:
 * `[10.0.0.1:80/TCP,State:active]`, `[[fd00::1]:80/TCP,State:active]`, with `/i`
 * after the protocol for an internal-scope address.
 */
export function maglevBackendHashString(b: MaglevBackend): string {
  const host = b.address.includes(":") ? `[${b.address}]` : b.address;
  return `[${host}:${b.port}/${b.protocol}${b.internalScope ? "/i" : ""},State:active]`;
}

const encoder = new TextEncoder();

/**
 * Offset and skip of one backend's permutation: murmur3-128 of its hash string;
 * offset = h1 mod M, skip = (h2 mod (M − 1)) + 1.
 */
export function maglevOffsetSkip(hashString: string, tableSize: number, seedMurmur: number): [number, number] {
  const [h1, h2] = murmur3Hash128(encoder.encode(hashString), seedMurmur);
  const m = BigInt(tableSize);
  return [Number(h1 % m), Number((h2 % (m - 1n)) + 1n)];
}

/**
 * One service's Maglev lookup table as Cilium's `pkg/maglev` computes it: the
 * backends sorted by their hash string, each with its permutation
 * (offset + j·skip mod M), turns taken round-robin (weighted as Envoy does when
 * the average weight exceeds 1), each turn claiming the next free slot of the
 * backend's permutation. Entry i is the backend ID owning slot i.
 * Returns an empty table for no backends (Cilium deletes the table instead).
 * @throws RangeError for an unsupported table size or seed (see {@link maglevConfig}).
 */
export function maglevLookupTable(
  backends: readonly MaglevBackend[],
  options: MaglevOptions | MaglevConfig = {},
): Uint32Array {
  const cfg = "seedMurmur" in options ? options : maglevConfig(options);
  const m = cfg.tableSize;
  const l = backends.length;
  if (l === 0) return new Uint32Array(0);
  const sorted = backends
    .map((b) => ({ b, key: maglevBackendHashString(b) }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const pos = new Float64Array(l);
  const skip = new Float64Array(l);
  const weight = new Float64Array(l);
  const weightCntr = new Float64Array(l);
  let weightSum = 0;
  sorted.forEach(({ b, key }, i) => {
    const [o, s] = maglevOffsetSkip(key, m, cfg.seedMurmur);
    pos[i] = o;
    skip[i] = s;
    const w = b.weight ?? DEFAULT_BACKEND_WEIGHT;
    weight[i] = w;
    weightSum += w;
  });
  for (let i = 0; i < l; i++) weightCntr[i] = (weight[i] as number) / l;
  const weightsUsed = Math.floor(weightSum / l) > 1;
  const taken = new Uint8Array(m);
  const entry = new Uint32Array(m);
  for (let n = 0; n < m; n++) {
    let i = n % l;
    if (weightsUsed) {
      while ((n + 1) * (weight[i] as number) < Math.trunc(weightCntr[i] as number)) i = (i + 1) % l;
      weightCntr[i] = (weightCntr[i] as number) + weightSum;
    }
    let c = pos[i] as number;
    while (taken[c] === 1) {
      c = (c + (skip[i] as number)) % m;
    }
    taken[c] = 1;
    entry[c] = (sorted[i] as { b: MaglevBackend }).b.id;
    pos[i] = (c + (skip[i] as number)) % m;
  }
  return entry;
}

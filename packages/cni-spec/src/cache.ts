/**
 * libcni's result cache: one JSON file per attachment at
 * `<cacheDir>/results/<network>-<containerID>-<ifName>` (dir 0700, file 0600)
 * holding `{"kind":"cniCacheV1", containerId, config (base64 of the list),
 * ifName, networkName, netns, cniArgs, capabilityArgs, result}`.
 *
 * A name longer than a file name may be (255 bytes, e.g. a 300-character
 * container ID) cannot be created; libcni then fails the ADD after the plugins
 * ran. We shorten such names (see {@link cacheFileName}); every name that fits
 * is libcni's, so both runtimes share a cache directory.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The file operations the cache needs (so the simulator can keep it in memory). */
export interface CacheFs {
  /** Read a file as UTF-8; rejects when it does not exist. */
  readFile(path: string): Promise<string>;
  /** Create or replace a file with `mode`, creating parent directories with `dirMode`. */
  writeFile(path: string, data: string, mode: number, dirMode: number): Promise<void>;
  /** File names in a directory ([] when it does not exist). */
  readdir(path: string): Promise<string[]>;
  /** Remove a file; no error when it does not exist. */
  remove(path: string): Promise<void>;
}

/** {@link CacheFs} on the real file system. */
export const nodeCacheFs: CacheFs = {
  readFile: (p) => readFile(p, "utf8"),
  async writeFile(p, data, mode, dirMode) {
    await mkdir(dirname(p), { recursive: true, mode: dirMode });
    await writeFile(p, data, { mode });
  },
  async readdir(p) {
    try {
      return await readdir(p);
    } catch {
      return [];
    }
  },
  remove: (p) => rm(p, { force: true }),
};

/** A {@link CacheFs} in memory (for the simulator and tests). */
export function memoryCacheFs(): CacheFs & { readonly files: Map<string, string> } {
  const files = new Map<string, string>();
  return {
    files,
    async readFile(p) {
      const v = files.get(p);
      if (v === undefined) throw new Error(`ENOENT: ${p}`);
      return v;
    },
    async writeFile(p, data) {
      files.set(p, data);
    },
    async readdir(p) {
      const prefix = p.endsWith("/") ? p : `${p}/`;
      return [...files.keys()]
        .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes("/"))
        .map((k) => k.slice(prefix.length));
    },
    async remove(p) {
      files.delete(p);
    },
  };
}

/** The cache kind libcni writes. */
export const CACHE_KIND = "cniCacheV1";

/** One cached attachment (libcni's `cachedInfo`). */
export interface CachedAttachment {
  /** Always `cniCacheV1`. */
  readonly kind: string;
  /** CNI_CONTAINERID of the ADD. */
  readonly containerId: string;
  /** The configuration list bytes, base64 (Go's []byte JSON encoding). */
  readonly config: string;
  /** CNI_IFNAME of the ADD. */
  readonly ifName: string;
  /** The list's name. */
  readonly networkName: string;
  /** CNI_NETNS of the ADD. */
  readonly netns?: string;
  /** CNI_ARGS pairs of the ADD. */
  readonly cniArgs?: readonly (readonly [string, string])[];
  /** Capability arguments of the ADD. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
  /** The final ADD result. */
  readonly result?: unknown;
}

/** Longest file name on Linux file systems (NAME_MAX). */
const NAME_MAX = 255;

/**
 * File name of the cache entry of one attachment: libcni's
 * `<network>-<containerID>-<ifName>` when it fits in 255 bytes; otherwise its
 * first 150 characters, `-sha256-` and the SHA-256 of the whole libcni name in
 * hex (222 bytes for the ASCII names CNI allows), unique per attachment. The
 * entry inside still holds the full container ID, network and interface names.
 */
export function cacheFileName(network: string, containerId: string, ifName: string): string {
  const name = `${network}-${containerId}-${ifName}`;
  if (Buffer.byteLength(name, "utf8") <= NAME_MAX) return name;
  return `${name.slice(0, 150)}-sha256-${createHash("sha256").update(name).digest("hex")}`;
}

/** Path of the cache file of one attachment (`<cacheDir>/results/<`{@link cacheFileName}`>`). */
export function cacheFilePath(cacheDir: string, network: string, containerId: string, ifName: string): string {
  return join(cacheDir, "results", cacheFileName(network, containerId, ifName));
}

/** Serialise a cache entry in libcni's key order (compact JSON, as Go's json.Marshal). */
export function encodeCacheEntry(e: CachedAttachment): string {
  const out: Record<string, unknown> = {
    kind: e.kind,
    containerId: e.containerId,
    config: e.config,
    ifName: e.ifName,
    networkName: e.networkName,
  };
  if (e.netns) out.netns = e.netns;
  if (e.cniArgs && e.cniArgs.length > 0) out.cniArgs = e.cniArgs;
  if (e.capabilityArgs && Object.keys(e.capabilityArgs).length > 0) out.capabilityArgs = e.capabilityArgs;
  if (e.result !== undefined) out.result = e.result;
  return JSON.stringify(out);
}

/**
 * Parse a cache file. Returns undefined for a file that is not a `cniCacheV1`
 * entry (libcni then treats an old-style file as a bare result).
 */
export function decodeCacheEntry(text: string): CachedAttachment | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.kind !== CACHE_KIND) return undefined;
  if (typeof o.containerId !== "string" || typeof o.ifName !== "string" || typeof o.networkName !== "string") {
    return undefined;
  }
  return o as unknown as CachedAttachment;
}

/**
 * Finding a network configuration by name in a directory, as libcni's
 * `LoadNetworkConf` does for cnitool (`NETCONFPATH`, default `/etc/cni/net.d`):
 * the `.conflist` files in name order first, then the single-plugin `.conf` and
 * `.json` files (wrapped as a one-plugin list); the first whose `name` matches
 * wins. Every file read before the match must parse.
 */
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type LoadedNetConfList, parseNetConf, parseNetworkConfig } from "./config.js";
import { CniError, ErrorCode } from "./errors.js";

/** cnitool's default `NETCONFPATH`. */
export const DEFAULT_NET_DIR = "/etc/cni/net.d";

/** Files of `dir` with one of `extensions`, full paths in name order ([] when `dir` does not exist). */
async function confFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IoFailure, `cannot read ${dir}: ${(e as Error).message}`);
  }
  // Go's filepath.Ext: from the last dot (so ".conf" itself counts, unlike Node's extname).
  const ext = (n: string): string => n.slice(Math.max(0, n.lastIndexOf(".")));
  return entries
    .filter((d) => !d.isDirectory() && d.name.includes(".") && extensions.includes(ext(d.name)))
    .map((d) => join(dir, d.name))
    .sort();
}

async function parseFile(file: string, single: boolean): Promise<LoadedNetConfList> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `error reading ${file}: ${(e as Error).message}`);
  }
  try {
    return single ? parseNetConf(text) : parseNetworkConfig(text);
  } catch (e) {
    if (e instanceof CniError) throw new CniError(e.code, `${file}: ${e.message}`, e.details, e.field);
    throw e;
  }
}

/**
 * The configuration named `name` in `dir`, as libcni's `LoadNetworkConf`.
 * @throws {@link CniError} `no net configuration with name "X" in DIR`, `no net
 * configurations found in DIR`, or the parse error of a file (prefixed with its path).
 */
export async function loadNetworkConfByName(dir: string, name: string): Promise<LoadedNetConfList> {
  const lists = await confFiles(dir, [".conflist"]);
  for (const file of lists) {
    const list = await parseFile(file, false);
    if (list.name === name) return list;
  }
  const singles = await confFiles(dir, [".conf", ".json"]);
  for (const file of singles) {
    const conf = await parseFile(file, true);
    if (conf.name === name) return conf;
  }
  if (lists.length === 0 && singles.length === 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `no net configuration with name "${name}" in ${dir}`);
}

// Shared by the host-local tests: the reference scenarios and store dumps.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const fixtures = join(import.meta.dirname, "fixtures");

/** One op of the reference JSONL (SEED rows have file/content instead). */
export interface ScenarioRow {
  scenario: string;
  n: number;
  verb: string;
  cid?: string;
  ifname?: string;
  cniArgs?: string;
  patch?: Record<string, unknown>;
  rc?: number;
  stdout?: unknown;
  ips?: string[];
  store?: Record<string, string>;
  file?: string;
  content?: string;
}

export interface ScenarioDef {
  name: string;
  description: string;
  config: Record<string, unknown>;
}

export function loadScenarios(): { def: ScenarioDef; rows: ScenarioRow[] }[] {
  const defs = JSON.parse(readFileSync(join(fixtures, "host-local-scenarios.config.json"), "utf8")) as ScenarioDef[];
  const rows = readFileSync(join(fixtures, "host-local-scenarios.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as ScenarioRow);
  return defs.map((def) => ({ def, rows: rows.filter((r) => r.scenario === def.name) }));
}

/** jq's `*`: objects merge recursively, anything else is replaced. */
export function deepMerge(a: unknown, b: unknown): unknown {
  if (isObj(a) && isObj(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in a ? deepMerge(a[k], v) : v;
    return out;
  }
  return b;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The store directory as {file: content}, like cni-oracle's store_json. */
export function readStoreDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => d.name)
      .sort();
  } catch {
    return out;
  }
  for (const n of names) out[n] = readFileSync(join(dir, n), "utf8");
  return out;
}

/** A fresh work dir with the oracle's sample resolv.conf. */
export function workDir(tag: string): string {
  const w = mkdtempSync(join(tmpdir(), `knet-ipam-${tag}-`));
  writeFileSync(
    join(w, "resolv.conf"),
    "nameserver 10.0.0.53\nnameserver fd00::53\nsearch example.test corp.test\ndomain example.test\noptions ndots:2 timeout:1\n# comment\n",
  );
  return w;
}

/** The config of one op: base config + patch, dataDir and @WORK@ filled in. */
export function opConfig(
  base: Record<string, unknown>,
  patch: unknown,
  dataDir: string,
  work: string,
): Record<string, unknown> {
  const withDir = deepMerge(base, { ipam: { dataDir } }) as Record<string, unknown>;
  const merged = deepMerge(withDir, patch ?? {}) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(merged).replaceAll("@WORK@", work)) as Record<string, unknown>;
}

import type { Family } from "@knet/netstack";
import {
  encodeAffinityMatchKey,
  encodeBackendKey,
  encodeBackendValue,
  encodeMaglevKey,
  encodeMaglevTable,
  encodeRevNatKey,
  encodeRevNatValue,
  encodeServiceKey,
  encodeServiceValue,
  encodeSourceRangeKey,
  hexBytes,
  mapPinName,
} from "./encode.js";
import type {
  AffinityMatchEntry,
  BackendEntry,
  LbMapChanges,
  LbMapName,
  LbMaps,
  RevNatEntry,
  ServiceEntry,
  SourceRangeEntry,
} from "./lb-maps.js";

/** Where the maps live on the node. */
export interface BatchOptions {
  /** bpffs directory the program's maps are pinned in (default `/sys/fs/bpf/tc/globals`, Cilium's). */
  readonly pinDir?: string;
}

/** Backend IDs per Maglev chunk (one `map update` line each; must match `LB_MAGLEV_CHUNK` in `bpf/sock_lb.c`). */
export const MAGLEV_CHUNK = 256;

/** The default pin directory. */
export const DEFAULT_PIN_DIR = "/sys/fs/bpf/tc/globals";

/** The pin path of one service's Maglev inner map. */
export function maglevInnerPin(pinDir: string, family: Family, serviceId: number): string {
  return `${pinDir}/knet_lb${family}_maglev_${serviceId}`;
}

interface Ctx {
  readonly dir: string;
  readonly family: Family;
}

function pin(ctx: Ctx, map: LbMapName): string {
  return `${ctx.dir}/${mapPinName(map, ctx.family)}`;
}

function update(path: string, key: Uint8Array, value: Uint8Array): string {
  return `map update pinned ${path} key hex ${hexBytes(key)} value hex ${hexBytes(value)}`;
}

function del(path: string, key: Uint8Array): string {
  return `map delete pinned ${path} key hex ${hexBytes(key)}`;
}

function maglevCreate(ctx: Ctx, id: number, table: Uint32Array): string[] {
  const inner = maglevInnerPin(ctx.dir, ctx.family, id);
  const chunks = Math.ceil(table.length / MAGLEV_CHUNK);
  return [
    `map create ${inner} type array key 4 value ${MAGLEV_CHUNK * 4} entries ${chunks} name knet_mag${ctx.family}_${id}`,
    ...maglevFill(ctx, id, table),
    `map update pinned ${pin(ctx, "maglev")} key hex ${hexBytes(encodeMaglevKey(id))} value pinned ${inner}`,
  ];
}

function maglevFill(ctx: Ctx, id: number, table: Uint32Array): string[] {
  const inner = maglevInnerPin(ctx.dir, ctx.family, id);
  const out: string[] = [];
  for (let c = 0; c * MAGLEV_CHUNK < table.length; c++) {
    const chunk = new Uint32Array(MAGLEV_CHUNK);
    chunk.set(table.subarray(c * MAGLEV_CHUNK, (c + 1) * MAGLEV_CHUNK));
    out.push(update(inner, encodeBackendKey(c), encodeMaglevTable(chunk)));
  }
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

function serviceOrder(a: ServiceEntry, b: ServiceEntry): number {
  // Slots before their master entry, so COUNT never covers a missing slot.
  return (a.slot === 0 ? 1 : 0) - (b.slot === 0 ? 1 : 0);
}

/**
 * The `bpftool batch file` of a full sync into empty maps: every backend, then
 * Maglev tables, source ranges, affinity matches, reverse-NAT entries, and the
 * service map (backend slots before master entries).
 */
export function renderFullBatch(maps: LbMaps, options: BatchOptions = {}): string {
  const ctx: Ctx = { dir: options.pinDir ?? DEFAULT_PIN_DIR, family: maps.family };
  const lines = [`# knet kube-proxy-ebpf: full sync of the IPv${maps.family} LB maps`];
  for (const b of maps.backends.values())
    lines.push(update(pin(ctx, "backends"), encodeBackendKey(b.id), encodeBackendValue(b)));
  for (const [id, table] of maps.maglev) lines.push(...maglevCreate(ctx, id, table));
  for (const s of maps.sourceRanges.values())
    lines.push(update(pin(ctx, "sourceRanges"), encodeSourceRangeKey(s), new Uint8Array(1)));
  for (const a of maps.affinityMatch.values())
    lines.push(update(pin(ctx, "affinityMatch"), encodeAffinityMatchKey(a), new Uint8Array(1)));
  for (const r of maps.revNat.values())
    lines.push(update(pin(ctx, "revNat"), encodeRevNatKey(r.id), encodeRevNatValue(r)));
  for (const s of [...maps.services.values()].sort(serviceOrder))
    lines.push(update(pin(ctx, "services"), encodeServiceKey(s), encodeServiceValue(s)));
  return `${lines.join("\n")}\n`;
}

const UPDATE_ORDER: readonly LbMapName[] = [
  "backends",
  "maglev",
  "sourceRanges",
  "affinityMatch",
  "revNat",
  "services",
];
const DELETE_ORDER: readonly LbMapName[] = [
  "services",
  "affinityMatch",
  "sourceRanges",
  "maglev",
  "revNat",
  "backends",
];

/**
 * The `bpftool batch file` of an incremental sync: only the entries that
 * changed since the previous sync, updates first (backends, Maglev tables,
 * source ranges, affinity matches, reverse NAT, service slots, master
 * entries) and deletions last (service entries first, backends last). A
 * removed Maglev table leaves its inner map's pin behind (bpftool cannot
 * unlink); the batch names it in a comment for the agent to remove.
 */
export function renderIncrementalBatch(maps: LbMaps, changes: LbMapChanges, options: BatchOptions = {}): string {
  const ctx: Ctx = { dir: options.pinDir ?? DEFAULT_PIN_DIR, family: maps.family };
  const updates: string[] = [];
  const deletes: string[] = [];
  for (const map of UPDATE_ORDER) {
    const before = changes.before.get(map);
    if (!before) continue;
    const keys = [...before.keys()];
    if (map === "services") {
      const entries: [ServiceEntry, ServiceEntry | undefined][] = [];
      for (const k of keys) {
        const e = maps.services.get(k as string);
        if (e) entries.push([e, before.get(k) as ServiceEntry | undefined]);
      }
      for (const [e, old] of entries.sort((a, b) => serviceOrder(a[0], b[0]))) {
        const value = encodeServiceValue(e);
        if (old && sameBytes(encodeServiceValue(old), value)) continue;
        updates.push(update(pin(ctx, "services"), encodeServiceKey(e), value));
      }
      continue;
    }
    for (const k of keys) {
      const old = before.get(k);
      switch (map) {
        case "backends": {
          const e = maps.backends.get(k as number);
          if (e && !(old && sameBytes(encodeBackendValue(old as BackendEntry), encodeBackendValue(e))))
            updates.push(update(pin(ctx, map), encodeBackendKey(e.id), encodeBackendValue(e)));
          break;
        }
        case "revNat": {
          const e = maps.revNat.get(k as number);
          if (e && !(old && sameBytes(encodeRevNatValue(old as RevNatEntry), encodeRevNatValue(e))))
            updates.push(update(pin(ctx, map), encodeRevNatKey(e.id), encodeRevNatValue(e)));
          break;
        }
        case "affinityMatch": {
          const e = maps.affinityMatch.get(k as string);
          if (e && !old) updates.push(update(pin(ctx, map), encodeAffinityMatchKey(e), new Uint8Array(1)));
          break;
        }
        case "sourceRanges": {
          const e = maps.sourceRanges.get(k as string);
          if (e && !old) updates.push(update(pin(ctx, map), encodeSourceRangeKey(e), new Uint8Array(1)));
          break;
        }
        case "maglev": {
          const e = maps.maglev.get(k as number);
          if (!e) break;
          if (!old) updates.push(...maglevCreate(ctx, k as number, e));
          else if (!sameBytes(encodeMaglevTable(old as Uint32Array), encodeMaglevTable(e)))
            updates.push(...maglevFill(ctx, k as number, e));
          break;
        }
      }
    }
  }
  for (const map of DELETE_ORDER) {
    const before = changes.before.get(map);
    if (!before) continue;
    for (const [k, old] of before) {
      if (old === undefined) continue;
      switch (map) {
        case "services":
          if (!maps.services.has(k as string)) deletes.push(del(pin(ctx, map), encodeServiceKey(old as ServiceEntry)));
          break;
        case "backends":
          if (!maps.backends.has(k as number)) deletes.push(del(pin(ctx, map), encodeBackendKey(k as number)));
          break;
        case "revNat":
          if (!maps.revNat.has(k as number)) deletes.push(del(pin(ctx, map), encodeRevNatKey(k as number)));
          break;
        case "affinityMatch":
          if (!maps.affinityMatch.has(k as string))
            deletes.push(del(pin(ctx, map), encodeAffinityMatchKey(old as AffinityMatchEntry)));
          break;
        case "sourceRanges":
          if (!maps.sourceRanges.has(k as string))
            deletes.push(del(pin(ctx, map), encodeSourceRangeKey(old as SourceRangeEntry)));
          break;
        case "maglev":
          if (!maps.maglev.has(k as number)) {
            deletes.push(del(pin(ctx, map), encodeMaglevKey(k as number)));
            deletes.push(`# unlink ${maglevInnerPin(ctx.dir, ctx.family, k as number)}`);
          }
          break;
      }
    }
  }
  const header = `# knet kube-proxy-ebpf: incremental sync of the IPv${maps.family} LB maps (${updates.length} updates, ${deletes.filter((d) => !d.startsWith("#")).length} deletions)`;
  return `${[header, ...updates, ...deletes].join("\n")}\n`;
}

import type { Endpoint, ProxyConfig, ProxyState, ServicePort } from "@knet/kube-proxy";
import type { Addr, Family, Prefix } from "@knet/netstack";
import { BACKEND_STATE, L4_PROTO, typeFlag } from "./flags.js";
import { FlatMap } from "./flat-map.js";
import { type BackendSpec, type FrontendSpec, frontendsOf, type LbSettings } from "./frontends.js";
import { IdAllocator } from "./id-allocator.js";
import { type MaglevConfig, maglevLookupTable } from "./maglev.js";

/** A service map entry (`lb{4,6}_key` → `lb{4,6}_service`). Slot 0 is the master entry. */
export interface ServiceEntry {
  /** Frontend address. */
  readonly addr: Addr;
  /** Frontend port (0 for a wildcard entry). */
  readonly port: number;
  /** IANA protocol (0 = ANY for a wildcard entry). */
  readonly proto: number;
  /** Lookup scope: 0 external, 1 internal. */
  readonly scope: 0 | 1;
  /** Backend slot; 0 for the master entry. */
  readonly slot: number;
  /** Slots: the backend ID. Master: `(lbAlg << 24) | affinity timeout`. */
  readonly backendId: number;
  /** Master: number of backends load-balanced to; slots: 0. */
  readonly count: number;
  /** Master: number of further (terminating) slots; slots: 0. */
  readonly qcount: number;
  /** Reverse-NAT (service) ID. */
  readonly revNat: number;
  /** 16-bit service flags. */
  readonly flags: number;
}

/** A backend map entry (`lb{4,6}_backend`). */
export interface BackendEntry {
  /** Backend ID. */
  readonly id: number;
  /** Address. */
  readonly addr: Addr;
  /** Port. */
  readonly port: number;
  /** IANA protocol. */
  readonly proto: number;
  /** State ({@link BACKEND_STATE}). */
  readonly state: number;
}

/** A reverse-NAT map entry: service ID → frontend address and port. */
export interface RevNatEntry {
  /** Service ID. */
  readonly id: number;
  /** Frontend address. */
  readonly addr: Addr;
  /** Frontend port. */
  readonly port: number;
}

/** An affinity-match entry: (service ID, backend ID) pairs eligible for session affinity. */
export interface AffinityMatchEntry {
  /** Service ID. */
  readonly revNat: number;
  /** Backend ID. */
  readonly backendId: number;
}

/** A source-range entry: (service ID, CIDR) allowed (or, with deny, denied). */
export interface SourceRangeEntry {
  /** Service ID. */
  readonly revNat: number;
  /** The CIDR. */
  readonly prefix: Prefix;
}

/** The LB maps of one IP family, as the datapath reads them. */
export interface LbMaps {
  /** IP family. */
  readonly family: Family;
  /** Service map by {@link serviceLookupKey}. */
  readonly services: ReadonlyMap<string, ServiceEntry>;
  /** Backend map by backend ID. */
  readonly backends: ReadonlyMap<number, BackendEntry>;
  /** Reverse-NAT map by service ID. */
  readonly revNat: ReadonlyMap<number, RevNatEntry>;
  /** Affinity-match map by `revNat/backendId`. */
  readonly affinityMatch: ReadonlyMap<string, AffinityMatchEntry>;
  /** Source-range map by `revNat/cidr`. */
  readonly sourceRanges: ReadonlyMap<string, SourceRangeEntry>;
  /** Maglev tables by service ID. */
  readonly maglev: ReadonlyMap<number, Uint32Array>;
}

/** The names of the LB maps. */
export type LbMapName = "services" | "backends" | "revNat" | "affinityMatch" | "sourceRanges" | "maglev";

/** The service map key as a lookup string: `addr port proto scope slot`. */
export function serviceLookupKey(addr: string, port: number, proto: number, scope: number, slot: number): string {
  return `${addr} ${port} ${proto} ${scope} ${slot}`;
}

/**
 * Value words of a {@link LbDatapath.services} entry: the backend ID (slots) or
 * `lbAlg << 24 | affinity timeout` (master), `count | qcount << 16`, the
 * reverse-NAT ID, the flags.
 */
export const SVC_VALUE = { backendId: 0, counts: 1, revNat: 2, flags: 3 } as const;

/**
 * Value words of a {@link LbDatapath.backends} entry: `port << 16 | proto << 8 |
 * state`, then the address words least significant first (IPv4 has only `w3`).
 */
export const BE_VALUE = { portProtoState: 0, w3: 1, w2: 2, w1: 3, w0: 4 } as const;

/**
 * Write the service map key of a frontend slot into `out`, as
 * {@link LbDatapath.services} is keyed: the address words (IPv4: `w3` only;
 * IPv6: `w0`..`w3`), `port << 16 | proto << 8 | scope`, the slot. The map
 * hashes all words but the slot, so a frontend's slots sit side by side.
 */
export function serviceKeyWords(
  out: Uint32Array,
  addr: Addr,
  port: number,
  proto: number,
  scope: number,
  slot: number,
): Uint32Array {
  let i = 0;
  if (addr.family === 6) {
    out[i++] = addr.w0;
    out[i++] = addr.w1;
    out[i++] = addr.w2;
  }
  out[i++] = addr.w3;
  out[i++] = (port << 16) | (proto << 8) | scope;
  out[i] = slot;
  return out;
}

/**
 * The LB maps as the datapath reads them: fixed-size keys and values in flat
 * hash maps (one row per entry, no objects), so a lookup costs the same at any
 * map size. Kept in step with {@link LbMaps} by every sync.
 */
export interface LbDatapath {
  /** The service map: key {@link serviceKeyWords}, value {@link SVC_VALUE}. */
  readonly services: FlatMap;
  /** The backend map: key the backend ID, value {@link BE_VALUE}. */
  readonly backends: FlatMap;
  /** Maglev tables indexed by service ID. */
  readonly maglev: readonly (Uint32Array | undefined)[];
}

/** Keys of each map changed by one {@link LbReconciler.sync}, with the values before the sync. */
export interface LbMapChanges {
  /** Per map: key → value before the sync (undefined: the key did not exist). */
  readonly before: ReadonlyMap<LbMapName, ReadonlyMap<string | number, unknown>>;
  /** Service ports whose frontends were recomputed. */
  readonly portsWritten: number;
  /** Service ports removed. */
  readonly portsDeleted: number;
}

interface FrontendRecord {
  spec: FrontendSpec;
  id: number;
  slotKeys: string[];
  backendKeys: string[];
  affKeys: string[];
  srcKeys: string[];
  maglevSig: string;
  wildcardKey: string | undefined;
}

interface BackendRecord {
  id: number;
  refs: number;
}

interface PortRecord {
  sp: ServicePort;
  eps: readonly Endpoint[] | undefined;
  keys: string[];
}

/**
 * Turns proxy states into LB map contents as Cilium's BPF reconciler does:
 * service IDs per frontend and backend IDs per backend address allocated in
 * frontend-table order and kept for as long as they are referenced; slot 0
 * the master entry, slots 1..n the backends (active first); reverse-NAT,
 * affinity-match, source-range and Maglev entries per frontend. Only service
 * ports whose objects changed are recomputed; {@link LbReconciler.sync} returns
 * what changed so a sync can write only that.
 */
export class LbReconciler {
  private readonly svcIds: IdAllocator;
  private readonly beIds = new IdAllocator(1, 0xffffffff, "backend");
  private readonly frontends = new Map<string, FrontendRecord>();
  private readonly backendRecs = new Map<string, BackendRecord>();
  private readonly ports = new Map<string, PortRecord>();
  private readonly wildcardRefs = new Map<string, number>();
  private readonly svc = new Map<string, ServiceEntry>();
  private readonly be = new Map<number, BackendEntry>();
  private readonly rev = new Map<number, RevNatEntry>();
  private readonly aff = new Map<string, AffinityMatchEntry>();
  private readonly src = new Map<string, SourceRangeEntry>();
  private readonly mag = new Map<number, Uint32Array>();
  private before = new Map<LbMapName, Map<string | number, unknown>>();
  private tracking = true;
  private readonly orphanCandidates = new Set<string>();

  /** The maps after the last sync (live views; do not keep across syncs if you need a snapshot). */
  readonly maps: LbMaps;
  /** The same maps as the datapath reads them (the evaluator's lookups). */
  readonly datapath: LbDatapath;
  private readonly dpServices: FlatMap;
  private readonly dpBackends: FlatMap;
  private readonly dpMaglev: (Uint32Array | undefined)[] = [];
  private readonly keyScratch = new Uint32Array(6);

  /**
   * @param config node facts
   * @param settings algorithm and annotation settings
   * @param maglev Maglev parameters
   * @param options `serviceIdLimit`: exclusive upper bound of service IDs, default 0xFFFF as in
   *   Cilium (16-bit reverse-NAT IDs: at most 65,534 frontends). A larger bound gives maps that
   *   the real datapath cannot hold (the batch encoder refuses IDs above 0xFFFF); it exists to
   *   measure the evaluator on larger maps than a Cilium node takes.
   */
  constructor(
    private readonly config: ProxyConfig,
    private readonly settings: LbSettings,
    private readonly maglev: MaglevConfig,
    options: { readonly serviceIdLimit?: number } = {},
  ) {
    this.svcIds = new IdAllocator(1, options.serviceIdLimit ?? 0xffff, "service");
    // IPv4 rows: 8 words (32 bytes) per service entry, 4 (16 bytes) per backend.
    const keyWords = config.family === 4 ? 3 : 6;
    this.dpServices = new FlatMap(keyWords, 4, { hashWords: keyWords - 1 });
    this.dpBackends = new FlatMap(1, config.family === 4 ? 2 : 5, { identity: true });
    this.maps = {
      family: config.family,
      services: this.svc,
      backends: this.be,
      revNat: this.rev,
      affinityMatch: this.aff,
      sourceRanges: this.src,
      maglev: this.mag,
    };
    this.datapath = { services: this.dpServices, backends: this.dpBackends, maglev: this.dpMaglev };
  }

  /** The service ID of a frontend (`ip:port/PROTO[/i]`), if it has one. */
  serviceId(frontendKey: string): number | undefined {
    return this.frontends.get(frontendKey)?.id;
  }

  /**
   * Bring the maps to `state`. Service ports whose ServicePort object and
   * endpoint list are identical to the previous sync's are skipped.
   * @returns per map, the keys written or deleted with their previous values
   */
  sync(state: ProxyState, options: { full?: boolean; track?: boolean } = {}): LbMapChanges {
    this.before = new Map();
    this.tracking = options.track ?? true;
    const changedSpecs: FrontendSpec[] = [];
    const goneKeys: string[] = [];
    const seen = new Set<string>();
    let portsWritten = 0;
    for (const key of state.order) {
      const sp = state.servicePorts.get(key);
      if (!sp) continue;
      seen.add(key);
      const eps = state.endpoints.get(key);
      const prev = this.ports.get(key);
      if (!options.full && prev && prev.sp === sp && prev.eps === eps) continue;
      const specs = frontendsOf(sp, eps ?? [], this.config, this.settings);
      const keys = specs.map((s) => s.key);
      if (prev) for (const k of prev.keys) if (!keys.includes(k)) goneKeys.push(k);
      this.ports.set(key, { sp, eps, keys });
      changedSpecs.push(...specs);
      portsWritten++;
    }
    let portsDeleted = 0;
    for (const [key, rec] of this.ports) {
      if (seen.has(key)) continue;
      goneKeys.push(...rec.keys);
      this.ports.delete(key);
      portsDeleted++;
    }
    for (const k of goneKeys) this.deleteFrontend(k);
    changedSpecs.sort((a, b) => (a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0));
    const claimed = new Set<string>();
    for (const spec of changedSpecs) {
      if (claimed.has(spec.key)) continue; // the first frontend of an address wins, as in Cilium's table
      claimed.add(spec.key);
      this.upsertFrontend(spec);
    }
    for (const bk of this.orphanCandidates) {
      const rec = this.backendRecs.get(bk);
      if (!rec || rec.refs > 0) continue;
      this.setBackend(rec.id, undefined);
      this.beIds.release(bk);
      this.backendRecs.delete(bk);
    }
    this.orphanCandidates.clear();
    return { before: this.before, portsWritten, portsDeleted };
  }

  private remember(map: LbMapName, key: string | number, value: unknown): void {
    if (!this.tracking) return;
    let m = this.before.get(map);
    if (!m) {
      m = new Map();
      this.before.set(map, m);
    }
    if (!m.has(key)) m.set(key, value);
  }

  private setSvc(key: string, e: ServiceEntry | undefined): void {
    const old = this.svc.get(key);
    this.remember("services", key, old);
    if (e) {
      this.svc.set(key, e);
      this.dpServices.set(serviceKeyWords(this.keyScratch, e.addr, e.port, e.proto, e.scope, e.slot), [
        e.backendId,
        e.count | (e.qcount << 16),
        e.revNat,
        e.flags,
      ]);
    } else if (old) {
      this.svc.delete(key);
      this.dpServices.delete(serviceKeyWords(this.keyScratch, old.addr, old.port, old.proto, old.scope, old.slot));
    }
  }

  private setBackend(id: number, e: BackendEntry | undefined): void {
    this.remember("backends", id, this.be.get(id));
    this.keyScratch[0] = id;
    const key = this.keyScratch.subarray(0, 1);
    if (e) {
      this.be.set(id, e);
      const a = e.addr;
      this.dpBackends.set(key, [(e.port << 16) | (e.proto << 8) | e.state, a.w3, a.w2, a.w1, a.w0]);
    } else {
      this.be.delete(id);
      this.dpBackends.delete(key);
    }
  }

  private setMaglev(id: number, table: Uint32Array | undefined): void {
    this.remember("maglev", id, this.mag.get(id));
    if (table) this.mag.set(id, table);
    else this.mag.delete(id);
    this.dpMaglev[id] = table;
  }

  private deleteFrontend(key: string): void {
    const rec = this.frontends.get(key);
    if (!rec) return;
    for (const k of rec.slotKeys) this.setSvc(k, undefined);
    for (const k of rec.affKeys) {
      this.remember("affinityMatch", k, this.aff.get(k));
      this.aff.delete(k);
    }
    for (const k of rec.srcKeys) {
      this.remember("sourceRanges", k, this.src.get(k));
      this.src.delete(k);
    }
    if (rec.maglevSig !== "") {
      this.setMaglev(rec.id, undefined);
    }
    this.remember("revNat", rec.id, this.rev.get(rec.id));
    this.rev.delete(rec.id);
    this.unrefWildcard(rec.wildcardKey);
    for (const bk of rec.backendKeys) this.unrefBackend(bk);
    this.svcIds.release(key);
    this.frontends.delete(key);
  }

  private unrefBackend(bk: string): void {
    const b = this.backendRecs.get(bk);
    if (!b) return;
    b.refs--;
    if (b.refs === 0) this.orphanCandidates.add(bk);
  }

  private unrefWildcard(wk: string | undefined): void {
    if (wk === undefined) return;
    const n = (this.wildcardRefs.get(wk) ?? 1) - 1;
    if (n > 0) this.wildcardRefs.set(wk, n);
    else {
      this.wildcardRefs.delete(wk);
      this.setSvc(wk, undefined);
    }
  }

  private backendId(b: BackendSpec): number {
    let rec = this.backendRecs.get(b.key);
    if (!rec) {
      rec = { id: this.beIds.acquire(b.key), refs: 0 };
      this.backendRecs.set(b.key, rec);
    }
    const state = BACKEND_STATE[b.state];
    const cur = this.be.get(rec.id);
    if (!cur || cur.state !== state) {
      this.setBackend(rec.id, { id: rec.id, addr: b.addr, port: b.port, proto: L4_PROTO[b.proto], state });
    }
    return rec.id;
  }

  private upsertFrontend(spec: FrontendSpec): void {
    const old = this.frontends.get(spec.key);
    const id = old?.id ?? this.svcIds.acquire(spec.key);
    const addr = spec.addr.toString();
    const proto = L4_PROTO[spec.proto];
    const ids = spec.backends.map((b) => this.backendId(b));
    for (const b of spec.backends) (this.backendRecs.get(b.key) as BackendRecord).refs++;
    if (old) for (const bk of old.backendKeys) this.unrefBackend(bk);
    // Service map: master and slots.
    const slotKeys: string[] = [];
    const master = serviceLookupKey(addr, spec.port, proto, spec.scope, 0);
    slotKeys.push(master);
    this.setSvc(master, {
      addr: spec.addr,
      port: spec.port,
      proto,
      scope: spec.scope,
      slot: 0,
      backendId: ((spec.lbAlg << 24) | (spec.affinityTimeout & 0xffffff)) >>> 0,
      count: spec.count,
      qcount: spec.qcount,
      revNat: id,
      flags: spec.flags,
    });
    ids.forEach((beId, i) => {
      const k = serviceLookupKey(addr, spec.port, proto, spec.scope, i + 1);
      slotKeys.push(k);
      const prev = this.svc.get(k);
      if (prev && prev.backendId === beId && prev.flags === spec.flags && prev.revNat === id) return;
      this.setSvc(k, {
        addr: spec.addr,
        port: spec.port,
        proto,
        scope: spec.scope,
        slot: i + 1,
        backendId: beId,
        count: 0,
        qcount: 0,
        revNat: id,
        flags: spec.flags,
      });
    });
    if (old) for (const k of old.slotKeys) if (!slotKeys.includes(k)) this.setSvc(k, undefined);
    // Reverse NAT.
    const rev = this.rev.get(id);
    if (!rev || rev.port !== spec.port || !rev.addr.equals(spec.addr)) {
      this.remember("revNat", id, rev);
      this.rev.set(id, { id, addr: spec.addr, port: spec.port });
    }
    // Affinity match: active backends of an affinity service.
    const affKeys: string[] = [];
    if (spec.affinityTimeout > 0)
      spec.backends.forEach((b, i) => {
        if (b.state !== "active") return;
        const beId = ids[i] as number;
        const k = `${id}/${beId}`;
        affKeys.push(k);
        if (!this.aff.has(k)) {
          this.remember("affinityMatch", k, undefined);
          this.aff.set(k, { revNat: id, backendId: beId });
        }
      });
    if (old)
      for (const k of old.affKeys)
        if (!affKeys.includes(k)) {
          this.remember("affinityMatch", k, this.aff.get(k));
          this.aff.delete(k);
        }
    // Source ranges.
    const srcKeys: string[] = [];
    for (const p of spec.sourceRanges) {
      if (p.family !== spec.addr.family) continue;
      const k = `${id}/${p}`;
      srcKeys.push(k);
      if (!this.src.has(k)) {
        this.remember("sourceRanges", k, undefined);
        this.src.set(k, { revNat: id, prefix: p });
      }
    }
    if (old)
      for (const k of old.srcKeys)
        if (!srcKeys.includes(k)) {
          this.remember("sourceRanges", k, this.src.get(k));
          this.src.delete(k);
        }
    // Maglev: the table over the backends load-balanced to.
    let maglevSig = "";
    if (spec.useMaglev && spec.count > 0) {
      const used = spec.backends.slice(0, spec.count);
      maglevSig = used.map((b, i) => `${ids[i]}=${b.key}*${b.weight}`).join(",");
      if (old?.maglevSig !== maglevSig) {
        this.setMaglev(
          id,
          maglevLookupTable(
            used.map((b, i) => ({
              id: ids[i] as number,
              address: b.addr.toString(),
              port: b.port,
              protocol: b.proto,
              weight: b.weight,
            })),
            this.maglev,
          ),
        );
      }
    } else if (old && old.maglevSig !== "") {
      this.setMaglev(id, undefined);
    }
    // Wildcard entry shared by the frontends of one address.
    let wildcardKey: string | undefined;
    if (spec.wildcard) {
      wildcardKey = serviceLookupKey(addr, 0, 0, spec.scope, 0);
      if (old?.wildcardKey !== wildcardKey) {
        const n = this.wildcardRefs.get(wildcardKey) ?? 0;
        this.wildcardRefs.set(wildcardKey, n + 1);
        if (n === 0)
          this.setSvc(wildcardKey, {
            addr: spec.addr,
            port: 0,
            proto: 0,
            scope: spec.scope,
            slot: 0,
            backendId: 0,
            count: 0,
            qcount: 0,
            revNat: 0,
            flags: typeFlag(spec.type),
          });
      }
    }
    if (old && old.wildcardKey !== wildcardKey) this.unrefWildcard(old.wildcardKey);
    this.frontends.set(spec.key, {
      spec,
      id,
      slotKeys,
      backendKeys: spec.backends.map((b) => b.key),
      affKeys,
      srcKeys,
      maglevSig,
      wildcardKey,
    });
  }
}

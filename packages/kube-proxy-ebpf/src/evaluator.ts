import {
  type ProxyConfig,
  type ProxyEvaluation,
  type ProxyOutcome,
  type ProxyPacket,
  type Random,
  settleDecisive,
  type TraceStep,
} from "@knet/kube-proxy";
import { Addr, formatIPv4, formatIPv6, Prefix, parseIPv4 } from "@knet/netstack";
import { formatServiceFlags, L4_PROTO, LB_ALG, l4Name, SVC_FLAG } from "./flags.js";
import { hashTupleV4, hashTupleV6 } from "./jhash.js";
import { BE_VALUE, type LbDatapath, type LbMaps, SVC_VALUE } from "./lb-maps.js";
import type { MaglevConfig } from "./maglev.js";

/** What the evaluator needs besides the maps. */
export interface SockLbEvaluatorOptions {
  /** Node facts: node IPs (NodePort surrogate lookups) and cluster CIDRs (pod versus external sources). */
  readonly config: ProxyConfig;
  /** Maglev parameters (the 5-tuple hash seed and table size). */
  readonly maglev: MaglevConfig;
  /** The datapath's default selection when a master entry says `undef`. */
  readonly defaultAlgorithm: "random" | "maglev";
}

/** Options of one evaluation. */
export interface SockLbEvaluateOptions {
  /** Random source for slot selection. */
  readonly random: Random;
  /** Now, in ms (session affinity). */
  readonly now: number;
  /** Record trace steps (default true). */
  readonly trace?: boolean;
}

const NODEPORT_MIN = 30000;
const NODEPORT_MAX = 32767;

function toAddr(a: Addr | string): Addr {
  return typeof a === "string" ? Addr.parse(a) : a;
}

/** Upper-case names and IANA numbers of the packet protocols. */
const PROTO_NAME = { tcp: "TCP", udp: "UDP", sctp: "SCTP" } as const;

/**
 * Load an address into `out[at..at+3]` (words most significant first) and
 * return its family. IPv4 text is scanned to a number: no object per packet.
 * @throws AddrError for text that is no address
 */
function loadWords(a: Addr | string, out: Uint32Array, at: number): 4 | 6 {
  if (typeof a === "string" && a.indexOf(":") < 0) {
    out[at] = 0;
    out[at + 1] = 0;
    out[at + 2] = 0;
    out[at + 3] = parseIPv4(a);
    return 4;
  }
  const addr = toAddr(a);
  out[at] = addr.w0;
  out[at + 1] = addr.w1;
  out[at + 2] = addr.w2;
  out[at + 3] = addr.w3;
  return addr.family;
}

/** The address in `w[at..at+3]` as an `Addr` (for traces and the rare lookups keyed by text). */
function addrAt(w: Uint32Array, at: number, fam: 4 | 6): Addr {
  return fam === 4
    ? Addr.v4(w[at + 3] as number)
    : Addr.v6(w[at] as number, w[at + 1] as number, w[at + 2] as number, w[at + 3] as number);
}

interface AffinityState {
  backendId: number;
  lastUsed: number;
}

/** A service map entry read in place: the value's offset in {@link LbDatapath.services}, or -1. */
type SvcRow = number;

/**
 * Runs packets (the first of a connection) through the LB maps the way
 * Cilium's datapath reads them. Traffic from this node's processes and pods
 * goes through the socket-level path (`bpf_sock.c`: the internal scope of a
 * two-scope service, no source NAT); traffic from outside the cluster goes
 * through the per-packet NodePort path (`bpf_host`: external scope,
 * source-range check, SNAT unless externalTrafficPolicy is Local). Each map
 * lookup is one probe of a flat hash map ({@link LbDatapath}) and one trace
 * step; the per-packet work builds no key strings and follows no per-entry
 * objects, so its cost does not depend on the number of services.
 */
export class SockLbEvaluator {
  private readonly affinity = new Map<string, AffinityState>();
  private readonly key = new Uint32Array(6);
  private readonly beKey = new Uint32Array(1);
  /** The packet's source (words 0-3) and destination (4-7) addresses. */
  private readonly words = new Uint32Array(8);

  /**
   * @param maps the LB maps (affinity-match and source-range lookups)
   * @param datapath the same maps in flat form (`LbReconciler.datapath`): service, backend and Maglev lookups
   * @param options node facts and Maglev parameters
   */
  constructor(
    private readonly maps: LbMaps,
    private readonly datapath: LbDatapath,
    private readonly options: SockLbEvaluatorOptions,
  ) {}

  /**
   * The service map entry of a frontend slot: the destination's (`surrogate`
   * false) or the NodePort surrogate's (the zero address). Writes the key as
   * `serviceKeyWords` lays it out.
   */
  private svcLookup(surrogate: boolean, port: number, proto: number, scope: number, slot: number): SvcRow {
    const k = this.key;
    const w = this.words;
    let i = 0;
    if (this.maps.family === 6) {
      k[i++] = surrogate ? 0 : (w[4] as number);
      k[i++] = surrogate ? 0 : (w[5] as number);
      k[i++] = surrogate ? 0 : (w[6] as number);
    }
    k[i++] = surrogate ? 0 : (w[7] as number);
    k[i++] = (port << 16) | (proto << 8) | scope;
    k[i] = slot;
    return this.datapath.services.find(k);
  }

  /** Forget session-affinity state (after a full resync). */
  clearAffinity(): void {
    this.affinity.clear();
  }

  /** Evaluate one packet. */
  evaluate(packet: ProxyPacket, opts: SockLbEvaluateOptions): ProxyEvaluation {
    const trace: TraceStep[] | undefined = opts.trace === false ? undefined : [];
    const outcome = this.run(packet, opts, trace);
    return { outcome, trace: trace ? settleDecisive(trace, outcome) : [] };
  }

  private step(trace: TraceStep[] | undefined, chain: string, text: string, matched: boolean, decisive = false): void {
    trace?.push(
      decisive
        ? { table: "bpf", chain, rule: 0, text, matched, decisive }
        : { table: "bpf", chain, rule: 0, text, matched },
    );
  }

  /** Whether the source (`words[0..3]`) is this node, loopback or a pod. */
  private isPodOrNode(fam: 4 | 6): boolean {
    const c = this.options.config;
    const w = this.words;
    const s3 = w[3] as number;
    if (fam === 4) {
      if (s3 >>> 24 === 127) return true;
      for (const ip of c.nodeIPs) if (ip.family === 4 && ip.w3 === s3) return true;
      for (const p of c.clusterCIDRs) if (p.family === 4 && p.containsV4(s3)) return true;
      return false;
    }
    if (s3 === 1 && w[0] === 0 && w[1] === 0 && w[2] === 0) return true;
    const src = addrAt(w, 0, 6);
    for (const ip of c.nodeIPs) if (ip.equals(src)) return true;
    for (const p of c.clusterCIDRs) if (p.contains(src)) return true;
    return false;
  }

  /** Whether the destination (`words[4..7]`) is one of this node's addresses. */
  private dstIsNodeIP(fam: 4 | 6): boolean {
    const w = this.words;
    for (const ip of this.options.config.nodeIPs)
      if (ip.family === fam && ip.w3 === w[7] && ip.w2 === w[6] && ip.w1 === w[5] && ip.w0 === w[4]) return true;
    return false;
  }

  private run(packet: ProxyPacket, opts: SockLbEvaluateOptions, trace: TraceStep[] | undefined): ProxyOutcome {
    const w = this.words;
    const fam = this.maps.family;
    if (loadWords(packet.src, w, 0) !== fam || loadWords(packet.dst, w, 4) !== fam)
      return { kind: "accept", masquerade: false };
    const protoName = PROTO_NAME[packet.protocol ?? "tcp"] as "TCP" | "UDP" | "SCTP" | undefined;
    if (protoName === undefined)
      throw new RangeError(`packet protocol ${JSON.stringify(packet.protocol)}: use tcp, udp or sctp`);
    const proto = L4_PROTO[protoName];
    const sport = packet.sport ?? 40000;
    const dport = packet.dport;
    const local = packet.origin === "local" || this.isPodOrNode(fam);
    // Text of the addresses, for trace steps only.
    const dst = trace ? addrAt(w, 4, fam) : undefined;
    const hook = local
      ? fam === 4
        ? "cgroup/connect4"
        : "cgroup/connect6"
      : fam === 4
        ? "bpf_host nodeport_lb4"
        : "bpf_host nodeport_lb6";
    const svcMap = fam === 4 ? "cilium_lb4_services_v2" : "cilium_lb6_services_v2";
    const sv = this.datapath.services.data;
    // The frontend whose slots are read: the packet's destination, or the NodePort surrogate.
    let surrogate = false;
    let scope = 0;
    let svc = this.svcLookup(false, dport, proto, 0, 0);
    if (trace) this.step(trace, svcMap, `${hook}: lookup ${dst}:${dport}/${protoName} slot 0`, svc >= 0);
    if (svc >= 0 && local && (sv[svc + SVC_VALUE.flags] as number) & SVC_FLAG.twoScopes) {
      scope = 1;
      svc = this.svcLookup(false, dport, proto, 1, 0);
      if (trace) this.step(trace, svcMap, `two-scopes: lookup ${dst}:${dport}/${protoName}/i slot 0`, svc >= 0);
    }
    if (svc < 0 && dport >= NODEPORT_MIN && dport <= NODEPORT_MAX) {
      const d3 = w[7] as number;
      const loop = fam === 4 ? d3 >>> 24 === 127 : d3 === 1 && w[4] === 0 && w[5] === 0 && w[6] === 0;
      if (local ? loop : this.dstIsNodeIP(fam)) {
        surrogate = true;
        scope = 0;
        svc = this.svcLookup(true, dport, proto, 0, 0);
        if (svc >= 0 && local && (sv[svc + SVC_VALUE.flags] as number) & SVC_FLAG.twoScopes) {
          scope = 1;
          svc = this.svcLookup(true, dport, proto, 1, 0);
        }
        if (svc >= 0 && !((sv[svc + SVC_VALUE.flags] as number) & SVC_FLAG.nodePort)) svc = -1;
        if (trace)
          this.step(
            trace,
            svcMap,
            `NodePort surrogate: lookup ${fam === 4 ? "0.0.0.0" : "::"}:${dport}/${protoName} slot 0`,
            svc >= 0,
          );
      }
    }
    if (svc < 0) return { kind: "accept", masquerade: false };
    if (dport === 0)
      return { kind: "drop", reason: `wildcard entry ${addrAt(w, 4, fam)}: no service on port ${dport}` };
    const revNat = sv[svc + SVC_VALUE.revNat] as number;
    const counts = sv[svc + SVC_VALUE.counts] as number;
    const count = counts & 0xffff;
    const flags = sv[svc + SVC_VALUE.flags] as number;
    const master = sv[svc + SVC_VALUE.backendId] as number;
    if (trace)
      this.step(
        trace,
        svcMap,
        `service ID=${revNat} COUNT=${count} QCOUNT=${counts >>> 16} FLAGS=${formatServiceFlags(flags)}`,
        true,
      );
    if (!local && !(flags & SVC_FLAG.routable)) {
      if (trace) this.step(trace, hook, `service ID=${revNat} is non-routable: drop`, true, true);
      return { kind: "drop", reason: `service ID=${revNat} is not routable from outside the cluster` };
    }
    if (flags & SVC_FLAG.sourceRange) {
      const src = addrAt(w, 0, fam);
      const hit = this.sourceRangeHit(revNat, src);
      const deny = (flags & SVC_FLAG.sourceRangeDeny) !== 0;
      if (trace)
        this.step(
          trace,
          `cilium_lb${fam}_source_range`,
          `lookup ID=${revNat} ${src}: ${hit ? "in" : "not in"} a range${deny ? " (deny list)" : ""}`,
          hit,
        );
      if (hit === deny) return { kind: "drop", reason: `source ${src} not allowed by the service's source ranges` };
    }
    if (count === 0) {
      if (trace)
        this.step(
          trace,
          hook,
          `service ID=${revNat} COUNT=0: ${local ? "connect() fails with EHOSTUNREACH" : "drop"}`,
          true,
          true,
        );
      return local
        ? { kind: "reject", reason: `service ID=${revNat} has no backends (connect: EHOSTUNREACH)` }
        : { kind: "drop", reason: `service ID=${revNat} has no backends (DROP_NO_SERVICE)` };
    }
    const bes = this.datapath.backends;
    let be = -1;
    let backendId = 0;
    const affinity = (flags & SVC_FLAG.sessionAffinity) !== 0;
    const affKey = affinity ? `${revNat}|${addrAt(w, 0, fam)}` : "";
    if (affinity) {
      const timeoutMs = (master & 0xffffff) * 1000;
      const a = this.affinity.get(affKey);
      if (a && a.lastUsed + timeoutMs > opts.now && this.maps.affinityMatch.has(`${revNat}/${a.backendId}`)) {
        backendId = a.backendId;
        be = this.backendLookup(backendId);
      }
      if (trace)
        this.step(trace, `cilium_lb${fam}_affinity`, `lookup ID=${revNat} client ${addrAt(w, 0, fam)}`, be >= 0);
    }
    if (be < 0) {
      const alg = master >>> 24 || (this.options.defaultAlgorithm === "maglev" ? LB_ALG.maglev : LB_ALG.random);
      const table = alg === LB_ALG.maglev ? this.datapath.maglev[revNat] : undefined;
      if (table) {
        const h =
          fam === 4
            ? hashTupleV4(w[3] as number, sport, dport, proto, this.options.maglev.seedJhash0)
            : hashTupleV6(
                [w[0] as number, w[1] as number, w[2] as number, w[3] as number],
                sport,
                dport,
                proto,
                this.options.maglev.seedJhash1,
              );
        const index = h % table.length;
        backendId = table[index] as number;
        if (trace)
          this.step(
            trace,
            `cilium_lb${fam}_maglev`,
            `lookup ID=${revNat} index ${index} (5-tuple hash ${h >>> 0}) -> backend ${backendId}`,
            true,
          );
      } else {
        const slot = Math.floor(opts.random.next() * count) + 1;
        const slotRow = this.svcLookup(surrogate, dport, proto, scope, slot);
        if (trace)
          this.step(
            trace,
            svcMap,
            `random slot ${slot} of ${count} -> backend ${slotRow >= 0 ? sv[slotRow + SVC_VALUE.backendId] : "missing"}`,
            slotRow >= 0,
          );
        if (slotRow < 0) {
          if (trace) this.step(trace, hook, `slot ${slot} missing: drop`, false, true);
          return { kind: "drop", reason: `service ID=${revNat} slot ${slot} missing` };
        }
        backendId = sv[slotRow + SVC_VALUE.backendId] as number;
      }
      be = this.backendLookup(backendId);
      if (be >= 0 && affinity) this.affinity.set(affKey, { backendId, lastUsed: opts.now });
    } else this.affinity.set(affKey, { backendId, lastUsed: opts.now });
    if (trace) this.step(trace, `cilium_lb${fam}_backends_v3`, `lookup ${backendId}`, be >= 0);
    if (be < 0) {
      if (trace) this.step(trace, hook, `backend ${backendId} missing: drop`, false, true);
      return { kind: "drop", reason: `backend ${backendId} missing` };
    }
    const bd = bes.data;
    const pps = bd[be + BE_VALUE.portProtoState] as number;
    const port = pps >>> 16;
    const w3 = bd[be + BE_VALUE.w3] as number;
    const w2 = fam === 4 ? 0 : (bd[be + BE_VALUE.w2] as number);
    const w1 = fam === 4 ? 0 : (bd[be + BE_VALUE.w1] as number);
    const w0 = fam === 4 ? 0 : (bd[be + BE_VALUE.w0] as number);
    const ip = fam === 4 ? formatIPv4(w3) : formatIPv6(w0, w1, w2, w3);
    if (trace)
      this.step(
        trace,
        hook,
        `translate ${dst}:${dport}/${protoName} -> ${fam === 6 ? `[${ip}]` : ip}:${port}/${l4Name((pps >>> 8) & 0xff)} (reverse NAT ID=${revNat})`,
        true,
        true,
      );
    const hairpin = w[3] === w3 && w[2] === w2 && w[1] === w1 && w[0] === w0;
    const masquerade = hairpin || (!local && !(flags & SVC_FLAG.extLocalScope));
    return { kind: "dnat", backend: { ip, port }, masquerade };
  }

  /** The backend map entry of `id`: the value's offset in {@link LbDatapath.backends}, or -1. */
  private backendLookup(id: number): number {
    this.beKey[0] = id;
    return this.datapath.backends.find(this.beKey);
  }

  private sourceRangeHit(revNat: number, src: Addr): boolean {
    // Longest-prefix match, as the LPM trie answers it: one hash lookup per prefix length.
    for (let len = src.bits; len >= 0; len--)
      if (this.maps.sourceRanges.has(`${revNat}/${Prefix.of(src, len, true)}`)) return true;
    return false;
  }
}

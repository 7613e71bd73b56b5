import {
  type ProxyConfig,
  type ProxyEvaluation,
  type ProxyOutcome,
  type ProxyPacket,
  type Random,
  settleDecisive,
  type TraceStep,
} from "@knet/kube-proxy";
import { Addr, Prefix } from "@knet/netstack";
import { formatServiceFlags, L4_PROTO, LB_ALG, l4Name, SVC_FLAG } from "./flags.js";
import { hashTupleV4, hashTupleV6 } from "./jhash.js";
import { type BackendEntry, frontendIndexKey, type LbMaps, type ServiceEntry } from "./lb-maps.js";
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

interface AffinityState {
  backendId: number;
  lastUsed: number;
}

/**
 * Runs packets (the first of a connection) through the LB maps the way
 * Cilium's datapath reads them. Traffic from this node's processes and pods
 * goes through the socket-level path (`bpf_sock.c`: the internal scope of a
 * two-scope service, no source NAT); traffic from outside the cluster goes
 * through the per-packet NodePort path (`bpf_host`: external scope,
 * source-range check, SNAT unless externalTrafficPolicy is Local). Each map
 * lookup is one O(1) hash lookup and one trace step.
 */
export class SockLbEvaluator {
  private readonly affinity = new Map<string, AffinityState>();

  /**
   * @param maps the LB maps
   * @param lookup a frontend's service entries by slot (`LbReconciler.lookupFrontend`)
   * @param options node facts and Maglev parameters
   */
  constructor(
    private readonly maps: LbMaps,
    private readonly lookup: (indexKey: number | string) => readonly (ServiceEntry | undefined)[] | undefined,
    private readonly options: SockLbEvaluatorOptions,
  ) {}

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

  private isPodOrNode(src: Addr): boolean {
    const c = this.options.config;
    if (src.family === 4 ? src.w3 >>> 24 === 127 : src.w3 === 1 && src.w0 === 0 && src.w1 === 0 && src.w2 === 0)
      return true;
    for (const ip of c.nodeIPs) if (ip.equals(src)) return true;
    for (const p of c.clusterCIDRs) if (p.contains(src)) return true;
    return false;
  }

  private run(packet: ProxyPacket, opts: SockLbEvaluateOptions, trace: TraceStep[] | undefined): ProxyOutcome {
    const src = toAddr(packet.src);
    const dst = toAddr(packet.dst);
    const fam = this.maps.family;
    if (dst.family !== fam || src.family !== fam) return { kind: "accept", masquerade: false };
    const protoName = (packet.protocol ?? "tcp").toUpperCase() as "TCP" | "UDP" | "SCTP";
    const proto = L4_PROTO[protoName];
    const sport = packet.sport ?? 40000;
    const local = packet.origin === "local" || this.isPodOrNode(src);
    const hook = local ? `cgroup/connect${fam}` : `bpf_host nodeport_lb${fam}`;
    const svcMap = `cilium_lb${fam}_services_v2`;
    let addrText: string | undefined;
    let slots = this.lookup(frontendIndexKey(dst, packet.dport, proto, 0));
    let svc = slots?.[0];
    if (trace)
      this.step(trace, svcMap, `${hook}: lookup ${dst}:${packet.dport}/${protoName} slot 0`, svc !== undefined);
    if (svc && local && svc.flags & SVC_FLAG.twoScopes) {
      slots = this.lookup(frontendIndexKey(dst, packet.dport, proto, 1));
      svc = slots?.[0];
      if (trace)
        this.step(
          trace,
          svcMap,
          `two-scopes: lookup ${addrText ?? dst}:${packet.dport}/${protoName}/i slot 0`,
          svc !== undefined,
        );
    }
    if (!svc && packet.dport >= NODEPORT_MIN && packet.dport <= NODEPORT_MAX) {
      const loop = fam === 4 ? dst.w3 >>> 24 === 127 : dst.w3 === 1 && dst.w0 === 0 && dst.w1 === 0 && dst.w2 === 0;
      const nodeAddr = this.options.config.nodeIPs.some((ip) => ip.equals(dst));
      if ((local && loop) || (!local && nodeAddr)) {
        addrText = fam === 4 ? "0.0.0.0" : "::";
        const any = fam === 4 ? Addr.v4(0) : Addr.v6(0, 0, 0, 0);
        slots = this.lookup(frontendIndexKey(any, packet.dport, proto, 0));
        svc = slots?.[0];
        if (svc && local && svc.flags & SVC_FLAG.twoScopes) {
          slots = this.lookup(frontendIndexKey(any, packet.dport, proto, 1));
          svc = slots?.[0];
        }
        if (svc && !(svc.flags & SVC_FLAG.nodePort)) svc = undefined;
        if (trace)
          this.step(
            trace,
            svcMap,
            `NodePort surrogate: lookup ${addrText}:${packet.dport}/${protoName} slot 0`,
            svc !== undefined,
          );
      }
    }
    if (!svc) return { kind: "accept", masquerade: false };
    if (svc.port === 0) return { kind: "drop", reason: `wildcard entry ${dst}: no service on port ${packet.dport}` };
    if (trace)
      this.step(
        trace,
        svcMap,
        `service ID=${svc.revNat} COUNT=${svc.count} QCOUNT=${svc.qcount} FLAGS=${formatServiceFlags(svc.flags)}`,
        true,
      );
    if (!local && !(svc.flags & SVC_FLAG.routable)) {
      if (trace) this.step(trace, hook, `service ID=${svc.revNat} is non-routable: drop`, true, true);
      return { kind: "drop", reason: `service ID=${svc.revNat} is not routable from outside the cluster` };
    }
    if (svc.flags & SVC_FLAG.sourceRange) {
      const hit = this.sourceRangeHit(svc.revNat, src);
      const deny = (svc.flags & SVC_FLAG.sourceRangeDeny) !== 0;
      if (trace)
        this.step(
          trace,
          `cilium_lb${fam}_source_range`,
          `lookup ID=${svc.revNat} ${src}: ${hit ? "in" : "not in"} a range${deny ? " (deny list)" : ""}`,
          hit,
        );
      if (hit === deny) return { kind: "drop", reason: `source ${src} not allowed by the service's source ranges` };
    }
    if (svc.count === 0) {
      if (trace)
        this.step(
          trace,
          hook,
          `service ID=${svc.revNat} COUNT=0: ${local ? "connect() fails with EHOSTUNREACH" : "drop"}`,
          true,
          true,
        );
      return local
        ? { kind: "reject", reason: `service ID=${svc.revNat} has no backends (connect: EHOSTUNREACH)` }
        : { kind: "drop", reason: `service ID=${svc.revNat} has no backends (DROP_NO_SERVICE)` };
    }
    let backend: BackendEntry | undefined;
    let backendId = 0;
    const affKey = `${svc.revNat}|${src}`;
    const timeoutMs = (svc.backendId & 0xffffff) * 1000;
    if (svc.flags & SVC_FLAG.sessionAffinity) {
      const a = this.affinity.get(affKey);
      if (a && a.lastUsed + timeoutMs > opts.now && this.maps.affinityMatch.has(`${svc.revNat}/${a.backendId}`)) {
        backendId = a.backendId;
        backend = this.maps.backends.get(backendId);
      }
      if (trace)
        this.step(trace, `cilium_lb${fam}_affinity`, `lookup ID=${svc.revNat} client ${src}`, backend !== undefined);
    }
    if (!backend) {
      const alg = svc.backendId >>> 24 || (this.options.defaultAlgorithm === "maglev" ? LB_ALG.maglev : LB_ALG.random);
      const table = alg === LB_ALG.maglev ? this.maps.maglev.get(svc.revNat) : undefined;
      if (table) {
        const h =
          fam === 4
            ? hashTupleV4(src.w3, sport, packet.dport, proto, this.options.maglev.seedJhash0)
            : hashTupleV6([src.w0, src.w1, src.w2, src.w3], sport, packet.dport, proto, this.options.maglev.seedJhash1);
        const index = h % table.length;
        backendId = table[index] as number;
        if (trace)
          this.step(
            trace,
            `cilium_lb${fam}_maglev`,
            `lookup ID=${svc.revNat} index ${index} (5-tuple hash ${h >>> 0}) -> backend ${backendId}`,
            true,
          );
      } else {
        const slot = Math.floor(opts.random.next() * svc.count) + 1;
        const slotEntry = slots?.[slot];
        if (trace)
          this.step(
            trace,
            svcMap,
            `random slot ${slot} of ${svc.count} -> backend ${slotEntry?.backendId ?? "missing"}`,
            slotEntry !== undefined,
          );
        if (!slotEntry) {
          if (trace) this.step(trace, hook, `slot ${slot} missing: drop`, false, true);
          return { kind: "drop", reason: `service ID=${svc.revNat} slot ${slot} missing` };
        }
        backendId = slotEntry.backendId;
      }
      backend = this.maps.backends.get(backendId);
      if (backend && svc.flags & SVC_FLAG.sessionAffinity) this.affinity.set(affKey, { backendId, lastUsed: opts.now });
    } else this.affinity.set(affKey, { backendId, lastUsed: opts.now });
    if (trace) this.step(trace, `cilium_lb${fam}_backends_v3`, `lookup ${backendId}`, backend !== undefined);
    if (!backend) {
      if (trace) this.step(trace, hook, `backend ${backendId} missing: drop`, false, true);
      return { kind: "drop", reason: `backend ${backendId} missing` };
    }
    const ip = backend.addr.toString();
    if (trace)
      this.step(
        trace,
        hook,
        `translate ${dst}:${packet.dport}/${protoName} -> ${backend.addr.family === 6 ? `[${ip}]` : ip}:${backend.port}/${l4Name(backend.proto)} (reverse NAT ID=${svc.revNat})`,
        true,
        true,
      );
    const hairpin = backend.addr.equals(src);
    const masquerade = hairpin || (!local && !(svc.flags & SVC_FLAG.extLocalScope));
    return { kind: "dnat", backend: { ip, port: backend.port }, masquerade };
  }

  private sourceRangeHit(revNat: number, src: Addr): boolean {
    // Longest-prefix match, as the LPM trie answers it: one hash lookup per prefix length.
    for (let len = src.bits; len >= 0; len--)
      if (this.maps.sourceRanges.has(`${revNat}/${Prefix.of(src, len, true)}`)) return true;
    return false;
  }
}

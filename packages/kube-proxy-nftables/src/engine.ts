import { LABEL_TOPOLOGY_ZONE } from "@knet/k8s";
import {
  compareServicePorts,
  diffProxyState,
  type EngineHookOptions,
  type EngineOptions,
  type EvaluateOptions,
  evaluationHooks,
  masqueradeMark,
  seededRandom as modelRandom,
  type ProxyConfig,
  type ProxyEngine,
  ProxyEngineError,
  type ProxyEvaluation,
  type ProxyOutcome,
  type ProxyPacket,
  type ProxyState,
  type Random,
  type ServicePort,
  type SyncOptions,
  type SyncResult,
  settleDecisive,
  type TraceStep,
  type TrafficPlan,
  trafficPlan,
} from "@knet/kube-proxy";
import { Addr, type HookRegistration, Prefix } from "@knet/netstack";
import { NftEvaluator, type RandomInt } from "./evaluator.js";
import { parseNftScript } from "./parse-script.js";
import {
  type ElementContribution,
  elementLine,
  KUBE_PROXY_TABLE,
  type NameCache,
  type NftRenderContext,
  newNameCache,
  renderContainerFlush,
  renderServicePort,
  renderSetup,
  type ServicePortRender,
  writeFullSync,
} from "./render.js";
import { NftRuleset } from "./ruleset.js";
import { TextSink } from "./text-sink.js";

/** Options of {@link NftablesEngine}: the shared ones (it reads `serviceCIDRs` of the host options). */
export type NftablesEngineOptions = EngineOptions;

/** What an nftables sync wrote: the transactions in the order they were run. */
export interface NftablesSyncResult extends SyncResult {
  /**
   * The `nft -f` transactions of this sync, run one after the other: the
   * deletion of chains that went stale at least 1 s ago (when there are any),
   * then the sync itself. `payload` is their concatenation.
   */
  readonly transactions: readonly string[];
}

interface ServiceRecord {
  readonly chains: readonly string[];
  readonly affinitySets: readonly string[];
  readonly elements: readonly ElementContribution[];
}

interface StoredElement {
  value: string | undefined;
  comment: string | undefined;
  refs: number;
  readonly set: string;
  readonly key: string;
}

const STALE_DELAY_MS = 1000;
/** IPv6 loopback (IPv4 loopback, 127/8, is tested on the address word). */
const LOOPBACK6 = Prefix.parse("::1/128");

function toRandomInt(r: Random): RandomInt {
  return (n) => Math.min(n - 1, Math.floor(r.next() * n));
}

/**
 * kube-proxy's nftables mode as a {@link ProxyEngine}. Each sync produces the
 * `nft -f` transaction kube-proxy would run (full: the whole table, containers
 * flushed and refilled; partial: only the chains of changed service ports and
 * the element changes), applies it to an in-memory {@link NftRuleset} the way
 * the kernel would (all or nothing), and evaluates packets against that state
 * with an {@link NftEvaluator}. Stale service and endpoint chains are flushed
 * in the sync that orphans them and deleted by a later sync at least 1 s after.
 */
export class NftablesEngine implements ProxyEngine {
  /** `nftables`. */
  readonly mode = "nftables";
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
  /** The kernel state the syncs have built. */
  readonly ruleset = new NftRuleset();
  /** The evaluator over {@link NftablesEngine.ruleset}. */
  readonly evaluator: NftEvaluator;
  private readonly ctx: NftRenderContext;
  private readonly random: Random;
  private readonly nowMs: () => number;
  private readonly localAddrs: readonly Addr[];
  /** The node's IPv4 addresses as uint32 words: the per-packet locality test compares numbers. */
  private readonly localV4: Uint32Array;
  private state: ProxyState | undefined;
  private needFull = true;
  private firstSync = true;
  private readonly services = new Map<string, ServiceRecord>();
  private readonly elements = new Map<string, StoredElement>();
  private readonly staleChains = new Map<string, number>();
  private readonly names: NameCache = newNameCache();

  constructor(options: NftablesEngineOptions) {
    const cfg = options.config;
    this.config = cfg;
    this.random = options.random ?? modelRandom(1);
    this.nowMs = options.now ?? (() => Date.now());
    const det = cfg.localDetector;
    if (det.mode === "BridgeInterface" || det.mode === "InterfaceNamePrefix") {
      throw new RangeError(
        `nftables engine: local detector ${det.mode} is not supported (use ClusterCIDR, NodeCIDR or None)`,
      );
    }
    const all = cfg.nodePortAddresses.some((p) => p.length === 0);
    const nodePortIPs =
      cfg.nodePortAddresses.length === 0
        ? cfg.nodeIPs
        : cfg.nodeIPs.filter((ip) => cfg.nodePortAddresses.some((p) => p.contains(ip)));
    this.ctx = {
      family: cfg.family,
      mark: masqueradeMark(cfg),
      masqueradeAll: cfg.masqueradeAll,
      localCIDR: det.mode === "ClusterCIDR" || det.mode === "NodeCIDR" ? det.cidr : undefined,
      nodePortIPs: all ? "all" : nodePortIPs,
      serviceCIDRs: (options.serviceCIDRs ?? [])
        .map((p) => (typeof p === "string" ? Prefix.parse(p, { mask: true }) : p))
        .filter((p) => p.family === cfg.family),
      nodeIP: cfg.nodeIPs[0],
    };
    this.localAddrs = cfg.nodeIPs;
    this.localV4 = Uint32Array.from(cfg.nodeIPs.filter((a) => a.family === 4).map((a) => a.w3));
    const isLocal = (a: Addr): boolean => this.isLocalAddr(a);
    this.evaluator = new NftEvaluator(this.ruleset, {
      random: toRandomInt(this.random),
      now: () => this.nowMs() / 1000,
      isLocal,
    });
  }

  /** Loopback or one of the node's addresses? It runs for every packet: IPv4 is a few integer compares. */
  private isLocalAddr(a: Addr): boolean {
    if (a.family === 4) {
      const w = a.w3;
      if (w >>> 24 === 127) return true;
      const v4 = this.localV4;
      for (let i = 0; i < v4.length; i++) if (v4[i] === w) return true;
      return false;
    }
    if (LOOPBACK6.contains(a)) return true;
    for (const l of this.localAddrs) if (l.equals(a)) return true;
    return false;
  }

  /** The render context (node facts) this engine writes with. */
  get renderContext(): NftRenderContext {
    return this.ctx;
  }

  private plan(state: ProxyState, key: string): TrafficPlan {
    const sp = state.servicePorts.get(key);
    if (sp === undefined) throw new ProxyEngineError("nftables", `no service port ${key}`);
    const zone = this.config.nodeLabels[LABEL_TOPOLOGY_ZONE];
    return trafficPlan(sp, state.endpoints.get(key) ?? [], {
      nodeName: this.config.nodeName,
      ...(zone !== undefined ? { zone } : {}),
    });
  }

  private renderOne(state: ProxyState, key: string): ServicePortRender {
    return renderServicePort(this.ctx, state.servicePorts.get(key) as never, this.plan(state, key), this.names);
  }

  /**
   * The full-sync transaction for `state` as a fresh node writes it (the
   * artifact `render()` returns for the current state).
   */
  renderFull(state: ProxyState, firstSync = true): string {
    const sink = new TextSink();
    for (const l of renderSetup(this.ctx, firstSync)) sink.line(l);
    for (const l of renderContainerFlush(this.ctx)) sink.line(l);
    for (const key of state.order) writeFullSync(this.ctx, this.renderOne(state, key), sink);
    return sink.toString();
  }

  /** The complete artifact for the current state (what a full sync on a fresh node writes). */
  render(): string {
    return this.renderFull(
      this.state ?? { family: this.config.family, servicePorts: new Map(), endpoints: new Map(), order: [] },
    );
  }

  private addElement(
    e: ElementContribution,
    touched: Map<string, { value: string | undefined; comment: string | undefined; present: boolean }>,
  ): void {
    const id = `${e.set}\u0000${e.key}`;
    let s = this.elements.get(id);
    if (!touched.has(id)) touched.set(id, { value: s?.value, comment: s?.comment, present: s !== undefined });
    if (s === undefined) {
      s = { set: e.set, key: e.key, value: e.value, comment: e.comment, refs: 0 };
      this.elements.set(id, s);
    }
    s.refs++;
    s.value = e.value;
    s.comment = e.comment;
  }

  private removeElement(
    e: ElementContribution,
    touched: Map<string, { value: string | undefined; comment: string | undefined; present: boolean }>,
  ): void {
    const id = `${e.set}\u0000${e.key}`;
    const s = this.elements.get(id);
    if (s === undefined) return;
    if (!touched.has(id)) touched.set(id, { value: s.value, comment: s.comment, present: true });
    if (--s.refs <= 0) this.elements.delete(id);
  }

  /** Sync to `state`: full the first time, after a failure or when asked, partial otherwise. */
  sync(state: ProxyState, options: SyncOptions = {}): NftablesSyncResult {
    if (state.family !== this.config.family) {
      throw new RangeError(`nftables engine for IPv${this.config.family} given an IPv${state.family} state`);
    }
    const now = this.nowMs();
    const T = `${this.config.family === 6 ? "ip6" : "ip"} ${KUBE_PROXY_TABLE}`;
    const transactions: string[] = [];
    // 1. Delete chains that went stale at least 1 s ago (separate transaction).
    const del: string[] = [];
    for (const [chain, at] of this.staleChains) {
      if (at <= now - STALE_DELAY_MS) {
        del.push(`delete chain ${T} ${chain}`);
        this.staleChains.delete(chain);
      }
    }
    if (del.length > 0) {
      const text = `${del.join("\n")}\n`;
      try {
        this.ruleset.apply(parseNftScript(text));
        transactions.push(text);
      } catch {
        // kube-proxy logs and retries later: the chains are re-marked below if they still exist.
      }
    }
    // 2. The sync transaction.
    const full = options.full === true || this.needFull || this.state === undefined;
    const lines: string[] = [];
    let written = 0;
    let deleted = 0;
    const newActive = new Set<string>();
    const oldActive = new Set<string>();
    const oldAffinity = new Set<string>();
    const newAffinity = new Set<string>();
    const fullSink = new TextSink();
    if (full) {
      for (const l of renderSetup(this.ctx, this.firstSync)) fullSink.line(l);
      for (const l of renderContainerFlush(this.ctx)) fullSink.line(l);
      for (const k of this.services.keys()) if (!state.servicePorts.has(k)) deleted++;
      this.services.clear();
      this.elements.clear();
      const touched = new Map();
      for (const key of state.order) {
        const r = this.renderOne(state, key);
        writeFullSync(this.ctx, r, fullSink);
        this.services.set(key, { chains: r.chains, affinitySets: r.affinitySets, elements: r.elements });
        for (const e of r.elements) this.addElement(e, touched);
        for (const c of r.chains) newActive.add(c);
        for (const a of r.affinitySets) newAffinity.add(a);
        written++;
      }
      const table = this.ruleset.table(this.config.family === 6 ? "ip6" : "ip", KUBE_PROXY_TABLE);
      if (table !== undefined) {
        for (const name of table.chains.keys()) if (name.includes("/")) oldActive.add(name);
        for (const name of table.sets.keys()) if (name.startsWith("affinity-")) oldAffinity.add(name);
      }
    } else {
      const diff = diffProxyState(this.state, state);
      const touched = new Map<string, { value: string | undefined; comment: string | undefined; present: boolean }>();
      for (const key of [...diff.removed, ...diff.changed]) {
        const old = this.services.get(key);
        if (old === undefined) continue;
        for (const e of old.elements) this.removeElement(e, touched);
        for (const c of old.chains) oldActive.add(c);
        for (const a of old.affinitySets) oldAffinity.add(a);
        this.services.delete(key);
      }
      deleted = diff.removed.length;
      const changed = [...diff.added, ...diff.changed]
        .map((k) => state.servicePorts.get(k) as ServicePort)
        .sort(compareServicePorts);
      for (const sp of changed) {
        const key = sp.key;
        const r = this.renderOne(state, key);
        for (const it of r.items) if (it !== null) lines.push(it);
        this.services.set(key, { chains: r.chains, affinitySets: r.affinitySets, elements: r.elements });
        for (const e of r.elements) this.addElement(e, touched);
        for (const c of r.chains) newActive.add(c);
        for (const a of r.affinitySets) newAffinity.add(a);
        written++;
      }
      // Chains and affinity sets are named after their service port, so only the changed
      // service ports' old ones can go stale.
      const dels: string[] = [];
      const adds: string[] = [];
      for (const [id, before] of touched) {
        const now2 = this.elements.get(id);
        const [set, key] = id.split("\u0000") as [string, string];
        if (now2 === undefined) {
          if (before.present) dels.push(elementLine(this.ctx, "delete", { set, key }));
        } else if (!before.present) {
          adds.push(elementLine(this.ctx, "add", elementOf(now2)));
        } else if (before.value !== now2.value || before.comment !== now2.comment) {
          dels.push(elementLine(this.ctx, "delete", { set, key }));
          adds.push(elementLine(this.ctx, "add", elementOf(now2)));
        }
      }
      lines.push(...dels, ...adds);
    }
    for (const c of oldActive) {
      if (!newActive.has(c) && !this.staleChains.has(c)) {
        lines.push(`flush chain ${T} ${c}`);
      }
    }
    for (const a of oldAffinity) if (!newAffinity.has(a)) lines.push(`delete set ${T} ${a}`);
    for (const l of lines) fullSink.line(l);
    const text = fullSink.toString();
    try {
      if (text !== "") this.ruleset.apply(parseNftScript(text));
    } catch (e) {
      // Nothing was applied; the bookkeeping above is rebuilt by the full sync that must come next.
      this.needFull = true;
      throw e;
    }
    for (const c of oldActive) if (!newActive.has(c) && !this.staleChains.has(c)) this.staleChains.set(c, now);
    for (const c of newActive) this.staleChains.delete(c);
    if (text !== "") transactions.push(text);
    this.state = state;
    this.needFull = false;
    this.firstSync = false;
    return {
      full,
      payload: transactions.join(""),
      transactions,
      servicePortsWritten: written,
      servicePortsDeleted: deleted,
    };
  }

  /** Names of chains flushed as stale and waiting for deletion. */
  get pendingStaleChains(): readonly string[] {
    return [...this.staleChains.keys()];
  }

  /** Run one packet (the first of a connection) through the current rules. */
  evaluate(packet: ProxyPacket, options: EvaluateOptions = {}): ProxyEvaluation {
    const src = typeof packet.src === "string" ? Addr.parse(packet.src) : packet.src;
    const dst = typeof packet.dst === "string" ? Addr.parse(packet.dst) : packet.dst;
    const origin = packet.origin ?? (this.isLocalAddr(src) ? "local" : "remote");
    const traceOn = options.trace ?? true;
    const r = this.evaluator.evaluate(
      { src, dst, proto: packet.protocol ?? "tcp", sport: packet.sport ?? 40000, dport: packet.dport },
      {
        origin: origin === "local" ? "local" : "inbound",
        trace: traceOn,
        ...(options.random !== undefined ? { random: toRandomInt(options.random) } : {}),
        ...(options.now !== undefined ? { now: options.now / 1000 } : {}),
      },
    );
    const family = this.config.family === 6 ? "ip6" : "ip";
    const trace: TraceStep[] = (r.trace ?? []).map((s) => ({
      table: family,
      chain: s.chain,
      rule: s.rule + 1,
      text: s.text,
      matched: s.result !== "no-match",
      ...(s.decisive === true ? { decisive: true } : {}),
    }));
    let outcome: ProxyOutcome;
    if (r.verdict === "drop" || r.verdict === "reject") {
      outcome = { kind: r.verdict, reason: r.decidedBy ?? r.verdict };
    } else if (r.dnat) {
      outcome = { kind: "dnat", backend: { ip: r.dst.toString(), port: r.dport }, masquerade: r.masquerade };
    } else {
      outcome = { kind: "accept", masquerade: r.masquerade };
    }
    return { outcome, trace: traceOn ? settleDecisive(trace, outcome) : trace };
  }

  /**
   * The engine's attachment to a simulated node (the {@link ProxyEngine}
   * contract): `evaluate()` at dstnat per new connection, masquerade at srcnat.
   */
  hooks(options: EngineHookOptions = {}): HookRegistration[] {
    return evaluationHooks(this, options);
  }
}

function elementOf(s: StoredElement): ElementContribution {
  return {
    set: s.set,
    key: s.key,
    ...(s.value !== undefined ? { value: s.value } : {}),
    ...(s.comment !== undefined ? { comment: s.comment } : {}),
  };
}

import { LABEL_TOPOLOGY_ZONE } from "@knet/k8s";
import {
  diffProxyState,
  type Endpoint,
  type EngineHookOptions,
  type EngineOptions,
  type EvaluateOptions,
  evaluationHooks,
  type Protocol,
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
  seededRandom,
  settleDecisive,
  type TraceStep,
  trafficPlan,
} from "@knet/kube-proxy";
import { IptablesEvaluator, type IptablesVerdict, Ruleset } from "@knet/kube-proxy-iptables";
import { Addr, type HookRegistration, type Prefix } from "@knet/netstack";
import { IpsetState } from "./ipsets.js";
import { type NoNodeAccess, renderIpvsBootstrap, renderIpvsIptables } from "./iptables-rules.js";
import { DEFAULT_TIMEOUTS, IpvsTable, type IpvsTimeouts } from "./ipvs-table.js";
import { renderIpvsadmList, renderIpvsadmSave } from "./ipvsadm.js";
import type { SchedulerName } from "./scheduler.js";
import type { VirtualServer, VirtualServerSpec } from "./virtual-server.js";

/** The dummy interface kube-proxy binds service addresses to. */
export const DUMMY_INTERFACE = "kube-ipvs0";

/** Options of {@link IpvsEngine}. */
export interface IpvsEngineOptions extends EngineOptions {
  /** `--ipvs-scheduler` (default rr). */
  readonly scheduler?: SchedulerName;
  /** Mark spelling in the iptables payload (default `binary`: `0x00004000`). */
  readonly markFormat?: "binary" | "test";
  /** IPVS connection timeouts in seconds (`ipvs.tcpTimeout` ...); those not given keep the kernel's defaults. */
  readonly timeouts?: Partial<IpvsTimeouts>;
  /** mh table size (default 4093). */
  readonly mhTableSize?: number;
}

/** What a virtual server of the plan is for. */
export type VirtualServerRole = "cluster-ip" | "external-ip" | "load-balancer" | "node-port";

/** One virtual server a sync wants, with its real servers. */
export interface VirtualServerPlan {
  /** The virtual server. */
  readonly spec: VirtualServerSpec;
  /** The service port it serves. */
  readonly servicePort: ServicePort;
  /** Its role. */
  readonly role: VirtualServerRole;
  /** Real servers (weight 1 each), sorted by `ip:port`. */
  readonly endpoints: readonly Endpoint[];
}

/** A real server being drained: weight 0 until its connections are gone (TCP and SCTP only). */
interface Draining {
  readonly vs: VirtualServer;
  readonly dest: import("./real-server.js").RealServer;
}

const IPVS_MATCH = /-m ipvs --vaddr (\S+) --vproto (\S+) --vport (\d+)/;

function emptyChains(r: Ruleset, table: string, keep: readonly string[]): void {
  const t = r.tables.get(table);
  if (!t) return;
  for (const c of t.chains.values()) if (c.policy !== undefined && !keep.includes(c.name)) c.rules = [];
}

/**
 * kube-proxy's IPVS mode. `sync()` computes the virtual servers (ClusterIP,
 * externalIPs, LB ingress IPs, NodePorts on every node IP), their real servers
 * (with graceful termination of removed TCP/SCTP ones), the addresses of
 * `kube-ipvs0`, the ipsets and the iptables rules IPVS mode keeps. `render()`
 * prints `ipvsadm -S -n`, `ipvsadm -Ln`, `ipset restore` and the
 * iptables-restore payload. `evaluate()` runs a packet through the iptables
 * hooks before IPVS (iptables package evaluator, ipsets plugged in), the IPVS
 * table (hash lookup, scheduler, persistence), and the hooks after it.
 */
export class IpvsEngine implements ProxyEngine {
  /** `ipvs`. */
  readonly mode = "ipvs";
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
  /** The IPVS table (virtual servers, connections, templates). */
  readonly table: IpvsTable;
  /** The scheduler every virtual server gets. */
  readonly scheduler: SchedulerName;
  private readonly options: IpvsEngineOptions;
  private readonly random: Random;
  private readonly clock: () => number;
  private sets: IpsetState;
  private bound: Addr[] = [];
  private iptablesPayload = "";
  private readonly draining = new Map<string, Draining>();
  private current: ProxyState | undefined;
  private full: IptablesEvaluator | undefined;
  private preLocal: IptablesEvaluator | undefined;
  private postNoVs: IptablesEvaluator | undefined;
  private post: IptablesEvaluator | undefined;
  private localKeys = new Set<string>();
  private local4 = new Set<number>();
  private ipvsContext: string | undefined;
  private readonly matchNames = new WeakMap<VirtualServer, string>();

  constructor(options: IpvsEngineOptions) {
    this.options = options;
    this.config = options.config;
    this.scheduler = options.scheduler ?? "rr";
    this.random = options.random ?? seededRandom(1);
    this.clock = options.now ?? Date.now;
    this.table = new IpvsTable(options.timeouts ? { timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts } } : {});
    this.sets = new IpsetState(this.config.family);
  }

  /** Node IPs NodePort virtual servers are created on: `--nodeport-addresses` matches (or all), loopback excluded. */
  nodePortIPs(): Addr[] {
    const c = this.config;
    return c.nodeIPs.filter(
      (ip) =>
        !(ip.family === 4 ? ip.w3 >>> 24 === 127 : ip.toString() === "::1") &&
        (c.nodePortAddresses.length === 0 || c.nodePortAddresses.some((p: Prefix) => p.contains(ip))),
    );
  }

  private endpointsFor(sp: ServicePort, eps: readonly Endpoint[], onlyLocal: boolean): readonly Endpoint[] {
    const zone = this.config.nodeLabels[LABEL_TOPOLOGY_ZONE];
    const plan = trafficPlan(sp, eps, { nodeName: this.config.nodeName, zone });
    if (!onlyLocal) return plan.categorized.clusterEndpoints;
    // pkg/proxy/ipvs syncEndpoint: no local endpoints → the cluster list (kubernetes#97081)
    const local = plan.categorized.localEndpoints;
    return local.length > 0 ? local : plan.categorized.clusterEndpoints;
  }

  /**
   * The virtual servers, ipsets, bound addresses and LB no-node-access entries
   * for `state`, as kube-proxy's `syncProxyRules` computes them.
   */
  plan(state: ProxyState): {
    readonly servers: VirtualServerPlan[];
    readonly sets: IpsetState;
    readonly bound: Addr[];
    readonly noNodeAccess: NoNodeAccess[];
  } {
    const c = this.config;
    const sets = new IpsetState(c.family);
    const servers: VirtualServerPlan[] = [];
    const bound = new Map<string, Addr>();
    const noNodeAccess: NoNodeAccess[] = [];
    const nodeAddrs = new Set(c.nodeIPs.map((a) => a.toString()));
    const nodeIPs = this.nodePortIPs();
    const sched = this.scheduler;
    const flags = sched === "mh" ? { fallback: false, port: true } : { fallback: false, port: false };
    for (const key of state.order) {
      const sp = state.servicePorts.get(key) as ServicePort;
      const eps = state.endpoints.get(key) ?? [];
      const proto = sp.protocol;
      for (const e of eps) {
        if (!e.isLocal) continue;
        sets.add("KUBE-LOOP-BACK", { ip: e.addr, port: e.port, protocol: proto, ip2: e.addr });
      }
      const spec = (addr: Addr, port: number): VirtualServerSpec => ({
        protocol: proto,
        addr,
        port,
        scheduler: sched,
        persistentTimeout: sp.sessionAffinitySeconds,
        flags,
        ...(this.options.mhTableSize !== undefined ? { mhTableSize: this.options.mhTableSize } : {}),
      });
      sets.add("KUBE-CLUSTER-IP", { ip: sp.clusterIP, port: sp.port, protocol: proto });
      servers.push({
        spec: spec(sp.clusterIP, sp.port),
        servicePort: sp,
        role: "cluster-ip",
        endpoints: this.endpointsFor(sp, eps, sp.internalPolicyLocal),
      });
      bound.set(sp.clusterIP.toString(), sp.clusterIP);
      const external = this.endpointsFor(sp, eps, sp.externalPolicyLocal);
      for (const ip of sp.externalIPs) {
        sets.add(sp.externalPolicyLocal ? "KUBE-EXTERNAL-IP-LOCAL" : "KUBE-EXTERNAL-IP", {
          ip,
          port: sp.port,
          protocol: proto,
        });
        servers.push({ spec: spec(ip, sp.port), servicePort: sp, role: "external-ip", endpoints: external });
        if (!nodeAddrs.has(ip.toString())) bound.set(ip.toString(), ip);
      }
      for (const ip of sp.loadBalancerVIPs) {
        const entry = { ip, port: sp.port, protocol: proto };
        sets.add("KUBE-LOAD-BALANCER", entry);
        if (sp.externalPolicyLocal) sets.add("KUBE-LOAD-BALANCER-LOCAL", entry);
        if (sp.loadBalancerSourceRanges.length > 0) {
          sets.add("KUBE-LOAD-BALANCER-FW", entry);
          let allowFromNode = false;
          const primary = c.nodeIPs[0];
          for (const net of sp.loadBalancerSourceRanges) {
            sets.add("KUBE-LOAD-BALANCER-SOURCE-CIDR", { ...entry, net });
            if (primary && net.contains(primary)) allowFromNode = true;
          }
          if (allowFromNode) sets.add("KUBE-LOAD-BALANCER-SOURCE-IP", { ...entry, ip2: ip });
          else noNodeAccess.push({ ip: ip.toString(), protocol: proto, port: sp.port });
        }
        servers.push({ spec: spec(ip, sp.port), servicePort: sp, role: "load-balancer", endpoints: external });
        if (!nodeAddrs.has(ip.toString())) bound.set(ip.toString(), ip);
      }
      // kube-proxy skips the rest of a NodePort service (health check port included) when it has no node IP
      if (sp.nodePort !== 0 && nodeIPs.length === 0) continue;
      if (sp.nodePort !== 0) {
        if (proto === "sctp") {
          for (const ip of nodeIPs) {
            sets.add("KUBE-NODE-PORT-SCTP-HASH", { ip, port: sp.nodePort, protocol: proto });
            if (sp.externalPolicyLocal)
              sets.add("KUBE-NODE-PORT-LOCAL-SCTP-HASH", { ip, port: sp.nodePort, protocol: proto });
          }
        } else {
          const suffix = proto.toUpperCase();
          sets.add(`KUBE-NODE-PORT-${suffix}`, { port: sp.nodePort });
          if (sp.externalPolicyLocal) sets.add(`KUBE-NODE-PORT-LOCAL-${suffix}`, { port: sp.nodePort });
        }
        for (const ip of nodeIPs)
          servers.push({ spec: spec(ip, sp.nodePort), servicePort: sp, role: "node-port", endpoints: external });
      }
      if (sp.healthCheckNodePort !== 0) sets.add("KUBE-HEALTH-CHECK-NODE-PORT", { port: sp.healthCheckNodePort });
    }
    for (const a of bound.values()) sets.add("KUBE-IPVS-IPS", { ip: a });
    return { servers, sets, bound: [...bound.values()], noNodeAccess };
  }

  /**
   * Sync to `state`. IPVS mode has no partial syncs: every sync computes
   * everything and reconciles the IPVS table (add, update, graceful delete).
   */
  sync(state: ProxyState, _options: SyncOptions = {}): SyncResult {
    const now = this.clock();
    const p = this.plan(state);
    const wanted = new Map<string, VirtualServerPlan>();
    for (const s of p.servers) {
      const key = `${s.spec.protocol}/${s.spec.addr.toString()}/${s.spec.port}`;
      if (!wanted.has(key)) wanted.set(key, s);
    }
    // IPVS mode always syncs in full; the counts say which service ports changed (added or changed / removed)
    const diff = diffProxyState(this.current, state);
    for (const vs of [...this.table.services()]) {
      if (!wanted.has(vs.key)) {
        this.table.deleteService(vs);
        for (const [k, d] of this.draining) if (d.vs === vs) this.draining.delete(k);
      }
    }
    for (const [key, plan] of wanted) {
      let vs = this.table.lookup(plan.spec.protocol, plan.spec.addr, plan.spec.port);
      if (!vs) {
        vs = this.table.addService(plan.spec);
      } else {
        vs.persistentTimeout = plan.spec.persistentTimeout ?? 0;
        vs.setScheduler(plan.spec.scheduler ?? "rr");
      }
      const want = new Set(plan.endpoints.map((e) => e.endpoint));
      for (const e of plan.endpoints) {
        const existing = vs.findDest(e.addr, e.port);
        const dkey = `${key}/${e.endpoint}`;
        if (existing) {
          if (!this.draining.has(dkey)) continue;
          // an endpoint that comes back is taken out of the graceful list: deleted, then added anew
          this.draining.delete(dkey);
          vs.deleteDest(existing);
        }
        vs.addDest(e.addr, e.port, 1);
      }
      for (const d of [...vs.dests]) {
        if (want.has(d.endpoint)) continue;
        const dkey = `${key}/${d.endpoint}`;
        if (this.draining.has(dkey)) continue;
        if (vs.protocol !== "udp" && d.activeConns + d.inactConns > 0) {
          vs.updateDest(d, 0);
          this.draining.set(dkey, { vs, dest: d });
        } else vs.deleteDest(d);
      }
    }
    this.sets = p.sets;
    this.bound = p.bound;
    this.iptablesPayload = renderIpvsIptables(
      {
        config: this.config,
        ...(this.options.randomFully !== undefined ? { randomFully: this.options.randomFully } : {}),
        ...(this.options.markFormat ? { markFormat: this.options.markFormat } : {}),
      },
      this.sets,
      p.noNodeAccess,
    );
    this.buildEvaluators();
    this.current = state;
    this.drain(now);
    return {
      full: true,
      payload: this.render(),
      servicePortsWritten: diff.added.length + diff.changed.length,
      servicePortsDeleted: diff.removed.length,
    };
  }

  /**
   * Expire IPVS connections at `now` and delete drained real servers (kube-proxy
   * re-checks its graceful-termination list every minute).
   */
  drain(now: number = this.clock()): number {
    this.table.expire(now);
    let removed = 0;
    for (const [k, d] of this.draining) {
      if (d.dest.activeConns + d.dest.inactConns === 0) {
        d.vs.deleteDest(d.dest);
        this.draining.delete(k);
        removed++;
      }
    }
    return removed;
  }

  /** Real servers currently draining (weight 0), as `vs/ip:port` keys. */
  drainingServers(): string[] {
    return [...this.draining.keys()].sort();
  }

  private buildEvaluators(): void {
    const rewritten = this.iptablesPayload
      .split("\n")
      .map((l) => {
        const m = IPVS_MATCH.exec(l);
        return m ? l.replace(IPVS_MATCH, `-m set --match-set @ipvs:${m[1]},${m[2]},${m[3]} dst`) : l;
      })
      .join("\n");
    const full = new Ruleset();
    full.restore(renderIpvsBootstrap());
    full.restore(rewritten);
    const preLocal = full.clone();
    preLocal.tables.delete("filter");
    emptyChains(preLocal, "nat", ["PREROUTING", "OUTPUT"]);
    const postNoVs = full.clone();
    emptyChains(postNoVs, "nat", ["POSTROUTING", "PREROUTING", "INPUT"]);
    const post = full.clone();
    emptyChains(post, "filter", ["OUTPUT"]);
    emptyChains(post, "nat", ["POSTROUTING"]);
    this.sets.extra = (name) => (name.startsWith("@ipvs:") ? name === this.ipvsContext : undefined);
    const local = [...this.config.nodeIPs, ...this.bound];
    this.localKeys = new Set(local.map((a) => a.toString()));
    this.local4 = new Set(local.filter((a) => a.family === 4).map((a) => a.w3));
    const mk = (r: Ruleset): IptablesEvaluator =>
      new IptablesEvaluator(r, { localAddresses: local, random: this.random, now: this.clock, ipsets: this.sets });
    this.full = mk(full);
    this.preLocal = mk(preLocal);
    this.postNoVs = mk(postNoVs);
    this.post = mk(post);
  }

  private isLocal(a: Addr): boolean {
    if (a.family === 4) return a.w3 >>> 24 === 127 || this.local4.has(a.w3);
    const t = a.toString();
    return t === "::1" || this.localKeys.has(t);
  }

  /** The addresses bound to `kube-ipvs0` (also the entries of KUBE-IPVS-IPS). */
  dummyAddresses(): Addr[] {
    return [...this.bound];
  }

  /** The ipsets of the last sync. */
  ipsets(): IpsetState {
    return this.sets;
  }

  /** `ipvsadm -S -n` of the current table. */
  renderIpvsadmSave(): string {
    return renderIpvsadmSave(this.table.services());
  }

  /** `ipvsadm -Ln` of the current table (with live connection counters). */
  renderIpvsadmList(): string {
    return renderIpvsadmList(this.table.services());
  }

  /** `ipset restore` input for the ipsets of the last sync. */
  renderIpsets(): string {
    return this.sets.render();
  }

  /** The iptables-restore payload of the last sync (`iptables-restore --noflush --counters`). */
  renderIptables(): string {
    return this.iptablesPayload;
  }

  /** The chains and jump rules kube-proxy ensures at every sync, as iptables-restore input. */
  renderBootstrap(): string {
    return renderIpvsBootstrap();
  }

  /** `ip` commands that create `kube-ipvs0` with its addresses. */
  renderDummyInterface(): string {
    const len = this.config.family === 6 ? 128 : 32;
    const lines = [`ip link add ${DUMMY_INTERFACE} type dummy`];
    for (const a of [...this.bound].sort((x, y) => x.compare(y)))
      lines.push(`ip addr add ${a.toString()}/${len} dev ${DUMMY_INTERFACE}`);
    return `${lines.join("\n")}\n`;
  }

  /** Every artifact of the current sync, in labelled sections. */
  render(): string {
    if (!this.current) throw new ProxyEngineError("ipvs", "render() before the first sync");
    return [
      `# ==== ${DUMMY_INTERFACE} (dummy interface and its addresses) ====`,
      this.renderDummyInterface().trimEnd(),
      "# ==== ipvsadm -S -n (virtual and real servers, ipvsadm -R input) ====",
      this.renderIpvsadmSave().trimEnd(),
      "# ==== ipvsadm -Ln (listing) ====",
      this.renderIpvsadmList().trimEnd(),
      "# ==== ipset restore ====",
      this.renderIpsets().trimEnd(),
      "# ==== iptables-restore --noflush --counters ====",
      this.renderIptables().trimEnd(),
      "",
    ].join("\n");
  }

  /** The rewritten `-m ipvs` match name a packet of `vs` satisfies. */
  private matchName(vs: VirtualServer): string {
    let n = this.matchNames.get(vs);
    if (n === undefined) {
      n = `@ipvs:${vs.addr.toString()},${vs.protocol},${vs.port}`;
      this.matchNames.set(vs, n);
    }
    return n;
  }

  /** Run `f` with the IPVS connection context (the `-m ipvs` matches) set, then clear it. */
  private withContext<T>(ctx: string | undefined, f: () => T): T {
    this.ipvsContext = ctx;
    try {
      return f();
    } finally {
      this.ipvsContext = undefined;
    }
  }

  /**
   * Run the first packet of a connection through the node: iptables hooks
   * before IPVS (remote: nat PREROUTING and filter INPUT; local: nat OUTPUT),
   * the IPVS lookup and scheduling (a connection is created and, for TCP,
   * established), then filter OUTPUT and nat POSTROUTING on the translated
   * packet, which decide the masquerade.
   */
  evaluate(packet: ProxyPacket, options: EvaluateOptions = {}): ProxyEvaluation {
    const { outcome, trace } = this.evaluateSteps(packet, options);
    return { outcome, trace: options.trace === false ? trace : settleDecisive(trace, outcome) };
  }

  /**
   * The engine's attachment to a simulated node (the {@link ProxyEngine}
   * contract): `evaluate()` at dstnat per new connection, masquerade at srcnat.
   */
  hooks(options: EngineHookOptions = {}): HookRegistration[] {
    return evaluationHooks(this, options);
  }

  /** The evaluation with every step that decided something flagged (see `settleDecisive`). */
  private evaluateSteps(packet: ProxyPacket, options: EvaluateOptions): ProxyEvaluation {
    if (!this.full || !this.current) throw new ProxyEngineError("ipvs", "evaluate() before the first sync");
    const src = typeof packet.src === "string" ? Addr.parse(packet.src) : packet.src;
    const dst = typeof packet.dst === "string" ? Addr.parse(packet.dst) : packet.dst;
    const protocol: Protocol = packet.protocol ?? "tcp";
    const sport = packet.sport ?? 40000;
    const origin = packet.origin ?? (this.isLocal(src) ? "local" : "remote");
    const wantTrace = options.trace !== false;
    const trace: TraceStep[] = [];
    const call = {
      trace: wantTrace,
      ...(options.random ? { random: options.random } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    };
    const base = {
      src,
      dst,
      protocol,
      sport,
      dport: packet.dport,
      origin,
      ...(packet.inInterface ? { inInterface: packet.inInterface } : {}),
    };
    const toOutcome = (v: IptablesVerdict): ProxyOutcome =>
      v.verdict === "drop"
        ? { kind: "drop", reason: v.reason ?? "dropped" }
        : v.verdict === "reject"
          ? { kind: "reject", reason: v.reason ?? "rejected" }
          : { kind: "accept", masquerade: v.snat !== undefined };
    const pre = this.withContext(undefined, () =>
      (origin === "remote" ? (this.full as IptablesEvaluator) : (this.preLocal as IptablesEvaluator)).evaluate(
        base,
        call,
      ),
    );
    if (wantTrace) trace.push(...pre.trace);
    if (pre.verdict !== "accept") return { outcome: toOutcome(pre), trace };
    const vs = this.isLocal(dst) ? this.table.lookup(protocol, dst, packet.dport) : undefined;
    if (!vs) {
      if (origin === "remote") return { outcome: toOutcome(pre), trace };
      const rest = (this.postNoVs as IptablesEvaluator).evaluate({ ...base, mark: pre.mark }, call);
      if (wantTrace) trace.push(...rest.trace);
      return { outcome: toOutcome(rest), trace };
    }
    const now = options.now ?? this.clock();
    const res = this.table.connect(vs, { src, dst, sport }, now);
    const vsText = (): string =>
      `${protocol.toUpperCase()} ${vs.addr.family === 6 ? `[${vs.addr}]` : vs.addr}:${vs.port} ${vs.scheduler.name}${vs.persistentTimeout > 0 ? ` persistent ${vs.persistentTimeout}` : ""}`;
    if (res.kind === "unavailable") {
      const reason = `ipvs ${vsText()}: no destination available (ICMP port unreachable)`;
      if (wantTrace)
        trace.push({
          table: "ipvs",
          chain: vsText(),
          rule: 0,
          text: "no destination available",
          matched: false,
          decisive: true,
        });
      return { outcome: { kind: "reject", reason }, trace };
    }
    const dest = res.conn.dest;
    if (wantTrace)
      trace.push({
        table: "ipvs",
        chain: vsText(),
        rule: 0,
        text: `-> ${dest.endpoint} Masq weight ${dest.weight}${res.viaTemplate ? " (persistence template)" : ""}`,
        matched: true,
        decisive: true,
      });
    const after = this.withContext(this.matchName(vs), () =>
      (this.post as IptablesEvaluator).evaluate(
        { ...base, dst: dest.addr, dport: dest.port, origin: "local", mark: pre.mark },
        call,
      ),
    );
    if (wantTrace) trace.push(...after.trace);
    if (after.verdict !== "accept") return { outcome: toOutcome(after), trace };
    return {
      outcome: {
        kind: "dnat",
        backend: { ip: dest.addr.toString(), port: dest.port },
        masquerade: after.snat !== undefined,
      },
      trace,
    };
  }

  /** The virtual server a packet to `dst:dport` would hit (one hash lookup), if any. */
  lookup(protocol: Protocol, dst: Addr | string, dport: number): VirtualServer | undefined {
    return this.table.lookup(protocol, typeof dst === "string" ? Addr.parse(dst) : dst, dport);
  }
}

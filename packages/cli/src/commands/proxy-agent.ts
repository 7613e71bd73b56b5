/**
 * The node agent behind `knet proxy run`: kube-proxy's loop around one engine.
 * Service and EndpointSlice events from a ClusterState go to a change tracker;
 * `@knet/kube-proxy`'s Proxier rate-limits syncs (minSyncPeriod, burst 2) and
 * runs one every syncPeriod; each sync's artifact is applied to this host's
 * kernel (`iptables-restore --noflush`, `nft -f`). A failed apply makes the next
 * sync full, retried after syncPeriod, as kube-proxy does. Health (`/healthz`,
 * `/livez`) and Prometheus metrics follow kube-proxy's names and semantics.
 */
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { performance } from "node:perf_hooks";
import { type Counter, MetricsRegistry } from "@knet/coredns-lite";
import type { ChangeEvent, ClusterState, EndpointSlice, Node, Service } from "@knet/k8s";
import {
  ChangeTracker,
  Proxier,
  type ProxyConfig,
  type ProxyEngine,
  ProxyModelError,
  type SyncOptions,
  type SyncResult,
  systemClock,
  type Timers,
} from "@knet/kube-proxy";
import { isServiceChain, jumpRules } from "@knet/kube-proxy-iptables";

/** A command run on the host: never throws for a non-zero exit. */
export type Exec = (
  cmd: string,
  args: readonly string[],
  input?: string,
) => { readonly code: number; readonly stdout: string; readonly stderr: string };

/** Runs commands with `spawnSync` (no shell). */
export const hostExec: Exec = (cmd, args, input) => {
  const r = spawnSync(cmd, [...args], { input, encoding: "utf8", maxBuffer: 1 << 30, timeout: 120_000 });
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? (r.error ? String(r.error.message) : ""),
  };
};

/** An apply the kernel refused: the command, its exit code and what it said. */
export class ApplyError extends Error {
  override readonly name = "ApplyError";
}

function mustRun(exec: Exec, cmd: string, args: readonly string[], input?: string): string {
  const r = exec(cmd, args, input);
  if (r.code !== 0)
    throw new ApplyError(`${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
  return r.stdout;
}

/** How one mode's artifacts reach the kernel. */
export interface KernelApplier {
  /** The proxy mode. */
  readonly mode: string;
  /** Before a full sync: what kube-proxy ensures outside the artifact (iptables: canaries and jumps). */
  prepare(): void;
  /** Apply one sync's artifact. @throws {@link ApplyError} when the kernel refuses it. */
  apply(result: SyncResult): void;
  /** Rule counts after the last apply, by table (the `sync_proxy_rules_iptables_*` gauges). */
  ruleCounts(): { readonly total: ReadonlyMap<string, number>; readonly last: ReadonlyMap<string, number> };
}

/**
 * iptables mode: `iptables-restore -w 5 --noflush --counters` of each payload;
 * before a full sync, the canary chains and the jumps from the built-in chains
 * are ensured (`-N`, then `-C` and `-I ... 1` when missing), as kube-proxy does
 * at every full sync. Keeps per-chain rule counts from the payloads (a declared
 * chain is flushed, `-A` adds, `-X` deletes), which is what restore does.
 */
export class IptablesApplier implements KernelApplier {
  readonly mode = "iptables";
  private readonly chains = new Map<string, number>();
  private last = new Map<string, number>();
  constructor(
    private readonly config: ProxyConfig,
    private readonly exec: Exec = hostExec,
  ) {}

  private get tool(): string {
    return this.config.family === 6 ? "ip6tables" : "iptables";
  }

  prepare(): void {
    for (const table of ["mangle", "nat", "filter"]) this.ensureChain(table, "KUBE-PROXY-CANARY");
    for (const j of jumpRules(this.config)) {
      this.ensureChain(j.table, j.to);
      const rule = [...j.args];
      if (this.exec(this.tool, ["-w", "5", "-t", j.table, "-C", j.from, ...rule]).code !== 0)
        mustRun(this.exec, this.tool, ["-w", "5", "-t", j.table, "-I", j.from, "1", ...rule]);
    }
  }

  private ensureChain(table: string, chain: string): void {
    const r = this.exec(this.tool, ["-w", "5", "-t", table, "-N", chain]);
    if (r.code !== 0 && !/exists/i.test(r.stderr))
      throw new ApplyError(`${this.tool} -t ${table} -N ${chain} exited ${r.code}: ${r.stderr.trim()}`);
  }

  apply(result: SyncResult): void {
    mustRun(this.exec, `${this.tool}-restore`, ["-w", "5", "--noflush", "--counters"], result.payload);
    const last = new Map<string, number>();
    let table = "";
    for (const line of result.payload.split("\n")) {
      if (line.startsWith("*")) table = line.slice(1);
      else if (line.startsWith(":")) this.chains.set(`${table}/${line.slice(1, line.indexOf(" "))}`, 0);
      else if (line.startsWith("-A ")) {
        const chain = line.slice(3, line.indexOf(" ", 3));
        const key = `${table}/${chain}`;
        this.chains.set(key, (this.chains.get(key) ?? 0) + 1);
        last.set(table, (last.get(table) ?? 0) + 1);
      } else if (line.startsWith("-X ")) this.chains.delete(`${table}/${line.slice(3).trim()}`);
    }
    this.last = last;
  }

  ruleCounts(): { total: Map<string, number>; last: Map<string, number> } {
    const total = new Map<string, number>();
    for (const [key, n] of this.chains) {
      const table = key.slice(0, key.indexOf("/"));
      total.set(table, (total.get(table) ?? 0) + n);
    }
    return { total, last: this.last };
  }
}

/** nftables mode: each transaction of a sync through `nft -f -`, in order (each one all or nothing). */
export class NftablesApplier implements KernelApplier {
  readonly mode = "nftables";
  constructor(private readonly exec: Exec = hostExec) {}

  prepare(): void {}

  apply(result: SyncResult): void {
    const transactions = (result as SyncResult & { transactions?: readonly string[] }).transactions ?? [result.payload];
    for (const t of transactions) mustRun(this.exec, "nft", ["-f", "-"], t);
  }

  ruleCounts(): { total: Map<string, number>; last: Map<string, number> } {
    return { total: new Map(), last: new Map() };
  }
}

/** The chains kube-proxy's iptables mode creates outside the per-service ones. */
const IPTABLES_FIXED_CHAINS = new Set([
  "KUBE-SERVICES",
  "KUBE-EXTERNAL-SERVICES",
  "KUBE-FORWARD",
  "KUBE-NODEPORTS",
  "KUBE-POSTROUTING",
  "KUBE-MARK-MASQ",
  "KUBE-PROXY-FIREWALL",
  "KUBE-PROXY-CANARY",
]);

/**
 * `kube-proxy --cleanup`: remove what every mode left on this host. iptables (both
 * families): the jumps from the built-in chains, then kube-proxy's chains, flushed
 * and deleted in one `iptables-restore --noflush` per table; kubelet's KUBE-FIREWALL
 * (which kube-proxy only ensures) and a chain another component still jumps to
 * are left, and named. nftables:
 * the `kube-proxy` tables of both families. Returns one line per thing done.
 */
export function cleanupHost(exec: Exec = hostExec, has: (cmd: string) => boolean = () => true): string[] {
  const done: string[] = [];
  for (const family of [4, 6] as const) {
    const tool = family === 6 ? "ip6tables" : "iptables";
    if (!has(tool) || exec(tool, ["-w", "5", "-S", "-t", "filter"]).code !== 0) continue;
    // Without localhost NodePorts, the jumps hold none to kubelet's KUBE-FIREWALL: it stays.
    for (const j of jumpRules({ family, localhostNodePorts: false } as ProxyConfig)) {
      while (exec(tool, ["-w", "5", "-t", j.table, "-D", j.from, ...j.args]).code === 0)
        done.push(`${tool} -t ${j.table}: deleted the jump ${j.from} -> ${j.to}`);
    }
    for (const table of ["nat", "filter", "mangle"]) {
      const save = exec(`${tool}-save`, ["-t", table]);
      if (save.code !== 0) continue;
      const lines = save.stdout.split("\n");
      const ours = new Set(
        lines
          .filter((l) => l.startsWith(":"))
          .map((l) => l.slice(1, l.indexOf(" ")))
          .filter((c) => IPTABLES_FIXED_CHAINS.has(c) || isServiceChain(c)),
      );
      const kept = new Set<string>();
      for (const l of lines) {
        const m = /^-A (\S+) .*-j (\S+)/.exec(l);
        if (m && !ours.has(m[1] as string) && ours.has(m[2] as string)) kept.add(m[2] as string);
      }
      const removed = [...ours].filter((c) => !kept.has(c)).sort();
      for (const c of kept) done.push(`${tool} -t ${table}: kept ${c} (still jumped to by another component's rule)`);
      if (removed.length === 0) continue;
      const restore = [
        `*${table}`,
        ...removed.map((c) => `:${c} - [0:0]`),
        ...removed.map((c) => `-X ${c}`),
        "COMMIT",
        "",
      ];
      mustRun(exec, `${tool}-restore`, ["-w", "5", "--noflush"], restore.join("\n"));
      done.push(`${tool} -t ${table}: deleted ${removed.length} chains`);
    }
  }
  if (has("nft")) {
    for (const family of ["ip", "ip6"]) {
      if (exec("nft", ["list", "table", family, "kube-proxy"]).code !== 0) continue;
      mustRun(exec, "nft", ["delete", "table", family, "kube-proxy"]);
      done.push(`nft: deleted table ${family} kube-proxy`);
    }
  }
  return done;
}

/** An apply that is wrapped as the engine the Proxier drives: sync = render + apply to the kernel. */
interface SyncHooks {
  readonly before: (full: boolean) => void;
  readonly after: (result: SyncResult, seconds: number) => void;
  readonly failed: (full: boolean, error: unknown) => void;
}

/** kube-proxy's FullSyncPeriod: a partial sync becomes full when the last full one is older. */
export const FULL_SYNC_PERIOD_MS = 3_600_000;

/** Go's `time.Time.String()` in UTC with the monotonic reading (`m=+S`), as kube-proxy's healthz prints it. */
export function goTimeString(ms: number | undefined, monotonicSeconds?: number): string {
  if (ms === undefined) return "0001-01-01 00:00:00 +0000 UTC";
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const frac = pad(d.getUTCMilliseconds(), 3).replace(/0+$/, "");
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac === "" ? "" : `.${frac}`} +0000 UTC`;
  return monotonicSeconds === undefined ? base : `${base} m=+${monotonicSeconds.toFixed(9)}`;
}

/** The Node's eligibility as kube-proxy's healthz judges it: not being deleted, not tainted for deletion. */
export function nodeEligible(node: Node | undefined): boolean {
  if (node === undefined) return true;
  if (node.metadata?.deletionTimestamp) return false;
  return !(node.spec?.taints ?? []).some((t) => t.key === "ToBeDeletedByClusterAutoscaler");
}

/** A labelled gauge family (the registry's gauges have no labels). */
class GaugeVec {
  readonly type = "gauge";
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
  ) {}
  set(value: string, n: number): void {
    this.values.set(value, n);
  }
  text(): string {
    if (this.values.size === 0) return "";
    let s = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const [v, n] of [...this.values].sort()) s += `${this.name}{${this.label}="${v}"} ${n}\n`;
    return s;
  }
}

const exp2 = (start: number, n: number) => Array.from({ length: n }, (_, i) => start * 2 ** i);
const linear = (start: number, width: number, n: number) => Array.from({ length: n }, (_, i) => start + width * i);
/** NetworkProgrammingLatency's buckets: 0.25 s, 0.5 s, 1..59 s, 60..115 s, 120..300 s. */
const PROGRAMMING_BUCKETS = [
  ...linear(0.25, 0.25, 2),
  ...linear(1, 1, 59),
  ...linear(60, 5, 12),
  ...linear(120, 30, 7),
];
const TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";

/** Options of {@link NodeAgent}. */
export interface NodeAgentOptions {
  /** The engine rendering the artifacts. */
  readonly engine: ProxyEngine;
  /** Where they go. */
  readonly kernel: KernelApplier;
  /** minSyncPeriod in ms (kube-proxy default 1 s). */
  readonly minSyncPeriodMs: number;
  /** syncPeriod in ms (kube-proxy default 30 s). */
  readonly syncPeriodMs: number;
  /** Diagnostics. */
  readonly log: (line: string) => void;
  /** Clock and timers (default the real ones). */
  readonly clock?: Timers;
}

/**
 * kube-proxy's node loop over one engine and one kernel applier, fed by a
 * ClusterState ({@link NodeAgent.follow}); {@link NodeAgent.start} runs the first
 * (full) sync once the sources have delivered their first list.
 */
export class NodeAgent {
  private readonly engine: ProxyEngine;
  private readonly kernel: KernelApplier;
  private readonly tracker: ChangeTracker;
  private readonly proxier: Proxier;
  private readonly clock: Timers;
  private readonly log: (line: string) => void;
  private readonly startedAt = performance.now();
  private readonly syncPeriodMs: number;
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private lastUpdatedAt: number | undefined;
  private oldestQueuedAt: number | undefined;
  private eligible = true;
  /** The sync requested for the events delivered in this turn of the event loop. */
  private requested: NodeJS.Immediate | undefined;
  private pendingServiceChanges = 0;
  private pendingEndpointChanges = 0;
  /** Earliest unsynced EndpointSlice trigger time per service (ms), for network programming latency. */
  private readonly triggers = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  /** kube-proxy's metrics. */
  readonly metrics = new MetricsRegistry();
  private readonly iptablesTotal = new GaugeVec(
    "kubeproxy_sync_proxy_rules_iptables_total",
    "Total number of iptables rules owned by kube-proxy",
    "table",
  );
  private readonly iptablesLast = new GaugeVec(
    "kubeproxy_sync_proxy_rules_iptables_last",
    "Number of iptables rules written by kube-proxy in last sync",
    "table",
  );
  private lastSyncTimestamp = 0;
  private lastQueuedTimestamp = 0;
  /** Syncs applied, and applies that failed. */
  readonly counts = { syncs: 0, full: 0, partial: 0, failures: 0 };

  constructor(options: NodeAgentOptions) {
    this.engine = options.engine;
    this.kernel = options.kernel;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.syncPeriodMs = options.syncPeriodMs;
    const config = options.engine.config;
    this.tracker = new ChangeTracker({ family: config.family, nodeName: config.nodeName });
    const m = this.metrics;
    const b = exp2(0.001, 15);
    const latency = m.histogram("kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds", b);
    const iptables = options.kernel.mode === "iptables";
    const fullLatency = iptables
      ? m.histogram(
          "kubeproxy_sync_full_proxy_rules_duration_seconds",
          "SyncProxyRules latency in seconds for full resyncs",
          b,
        )
      : undefined;
    const partialLatency = iptables
      ? m.histogram(
          "kubeproxy_sync_partial_proxy_rules_duration_seconds",
          "SyncProxyRules latency in seconds for partial resyncs",
          b,
        )
      : undefined;
    m.gauge(
      "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
      "The last time a sync of proxy rules was queued",
      () => this.lastQueuedTimestamp,
    );
    m.gauge(
      "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
      "The last time proxy rules were successfully synced",
      () => this.lastSyncTimestamp,
    );
    m.gauge(
      "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
      "Pending proxy rules Endpoint changes",
      () => this.pendingEndpointChanges,
    );
    const endpointChanges = m.counter(
      "kubeproxy_sync_proxy_rules_endpoint_changes_total",
      "Cumulative proxy rules Endpoint changes",
    );
    m.gauge(
      "kubeproxy_sync_proxy_rules_service_changes_pending",
      "Pending proxy rules Service changes",
      () => this.pendingServiceChanges,
    );
    const serviceChanges = m.counter(
      "kubeproxy_sync_proxy_rules_service_changes_total",
      "Cumulative proxy rules Service changes",
    );
    this.healthzTotal = m.counter("kubeproxy_proxy_healthz_total", "Cumulative proxy healthz HTTP status");
    this.livezTotal = m.counter("kubeproxy_proxy_livez_total", "Cumulative proxy livez HTTP status");
    const programming = m.histogram(
      "kubeproxy_network_programming_duration_seconds",
      "In Cluster Network Programming Latency in seconds",
      PROGRAMMING_BUCKETS,
    );
    const failures = iptables
      ? m.counter(
          "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
          "Cumulative proxy iptables restore failures",
        )
      : m.counter("kubeproxy_sync_proxy_rules_nftables_sync_failures_total", "Cumulative proxy nftables sync failures");
    const partialFailures = iptables
      ? m.counter(
          "kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total",
          "Cumulative proxy iptables partial restore failures",
        )
      : undefined;
    this.changeCounters = { endpointChanges, serviceChanges };
    // client_golang exposes an unlabelled counter at 0 from the start
    for (const c of [endpointChanges, serviceChanges, failures, partialFailures]) c?.inc("", 0);

    const hooks: SyncHooks = {
      before: (full) => {
        if (full) this.kernel.prepare();
      },
      after: (result, seconds) => {
        latency.observe("", seconds);
        (result.full ? fullLatency : partialLatency)?.observe("", seconds);
        const now = Date.now();
        for (const t of this.triggers.values()) programming.observe("", Math.max(0, (now - t) / 1000));
        this.triggers.clear();
        this.lastSyncTimestamp = now / 1000;
        this.pendingEndpointChanges = 0;
        this.pendingServiceChanges = 0;
        this.lastUpdatedAt = now;
        this.oldestQueuedAt = undefined;
        if (iptables) {
          const counts = this.kernel.ruleCounts();
          for (const t of ["filter", "nat"]) {
            this.iptablesTotal.set(t, counts.total.get(t) ?? 0);
            this.iptablesLast.set(t, counts.last.get(t) ?? 0);
          }
        }
        this.counts.syncs++;
        if (result.full) this.counts.full++;
        else this.counts.partial++;
      },
      failed: (full, error) => {
        failures.inc();
        if (!full) partialFailures?.inc();
        this.counts.failures++;
        this.log(
          `proxy: sync failed (${(error as Error).message}); the next sync is full, retried in ${this.syncPeriodMs / 1000}s`,
        );
      },
    };
    const inner = this.engine;
    const self = this;
    const applying: ProxyEngine = {
      mode: inner.mode,
      config: inner.config,
      sync(state, opts: SyncOptions = {}) {
        const full = opts.full === true || self.clock.now() - self.lastFullAt > FULL_SYNC_PERIOD_MS;
        const t0 = performance.now();
        let result: SyncResult | undefined;
        try {
          hooks.before(full);
          result = inner.sync(state, { full });
          self.kernel.apply(result);
        } catch (e) {
          hooks.failed(result?.full ?? full, e);
          throw e;
        }
        if (result.full) self.lastFullAt = self.clock.now();
        hooks.after(result, (performance.now() - t0) / 1000);
        return result;
      },
      render: () => inner.render(),
      evaluate: (p, o) => inner.evaluate(p, o),
      hooks: (o) => inner.hooks(o),
    };
    this.proxier = new Proxier({
      engine: applying,
      tracker: this.tracker,
      clock: this.clock,
      minSyncPeriodMs: options.minSyncPeriodMs,
      syncPeriodMs: options.syncPeriodMs,
      onError: () => {},
    });
  }

  private readonly healthzTotal: Counter;
  private readonly livezTotal: Counter;
  private readonly changeCounters: { readonly endpointChanges: Counter; readonly serviceChanges: Counter };

  /** Follow `state`'s Services, EndpointSlices and this node's Node (replaying what it holds). */
  follow(state: ClusterState): void {
    const nodeName = this.engine.config.nodeName;
    this.unsubscribe = state.subscribe((e) => this.onEvent(e), {
      kinds: ["Service", "EndpointSlice", "Node"],
      replay: true,
    });
    this.eligible = nodeEligible(state.get("Node", "", nodeName));
  }

  private onEvent(e: ChangeEvent): void {
    if (e.kind === "Node") {
      if (e.name === this.engine.config.nodeName) this.eligible = e.type === "deleted" ? false : nodeEligible(e.object);
      return;
    }
    try {
      if (e.kind === "Service") {
        this.changeCounters.serviceChanges.inc();
        this.pendingServiceChanges++;
        if (e.type === "deleted") this.tracker.deleteService(e.namespace, e.name);
        else this.tracker.updateService(e.object as Service);
      } else if (e.kind === "EndpointSlice") {
        this.changeCounters.endpointChanges.inc();
        this.pendingEndpointChanges++;
        if (e.type === "deleted") this.tracker.deleteEndpointSlice(e.namespace, e.name);
        else {
          this.tracker.updateEndpointSlice(e.object as EndpointSlice);
          const at = Date.parse(e.object.metadata?.annotations?.[TRIGGER_TIME] ?? "");
          const svc = `${e.namespace}/${e.object.metadata?.labels?.["kubernetes.io/service-name"] ?? ""}`;
          if (!Number.isNaN(at) && at < (this.triggers.get(svc) ?? Number.POSITIVE_INFINITY))
            this.triggers.set(svc, at);
        }
      } else return;
    } catch (err) {
      if (!(err instanceof ProxyModelError)) throw err;
      this.log(`proxy: skipped ${e.kind} ${e.namespace}/${e.name}: ${err.message}`);
      return;
    }
    this.queued();
  }

  /** A change was recorded: one sync is requested once the current burst of events is delivered. */
  private queued(): void {
    this.lastQueuedTimestamp = Date.now() / 1000;
    this.oldestQueuedAt ??= Date.now();
    if (this.requested !== undefined) return;
    this.requested = setImmediate(() => {
      this.requested = undefined;
      this.proxier.requestSync();
    });
  }

  /** The sources have delivered their first full list: run the first (full) sync. */
  start(): void {
    // The replayed list needs no sync of its own: the first sync covers it.
    if (this.requested !== undefined) clearImmediate(this.requested);
    this.requested = undefined;
    this.proxier.onServicesSynced();
    this.proxier.onEndpointSlicesSynced();
  }

  /** Stop syncing (rules stay in the kernel, as when kube-proxy exits). */
  stop(): void {
    this.unsubscribe?.();
    this.proxier.stop();
  }

  /** kube-proxy's healthz decision and body (healthTimeout: twice syncPeriod). */
  health(withNode: boolean): { status: number; body: string } {
    const now = Date.now();
    const mono = (performance.now() - this.startedAt) / 1000;
    const healthy = this.oldestQueuedAt === undefined || now - this.oldestQueuedAt < 2 * this.syncPeriodMs;
    const ok = healthy && (!withNode || this.eligible);
    const last = ok ? goTimeString(now, mono) : goTimeString(this.lastUpdatedAt);
    const current = goTimeString(now, mono);
    const body = withNode
      ? `{"lastUpdated": ${JSON.stringify(last)},"currentTime": ${JSON.stringify(current)}, "nodeEligible": ${this.eligible}}`
      : `{"lastUpdated": ${JSON.stringify(last)},"currentTime": ${JSON.stringify(current)}}`;
    (withNode ? this.healthzTotal : this.livezTotal).inc(`{code="${ok ? 200 : 503}"}`);
    return { status: ok ? 200 : 503, body };
  }

  /** The Prometheus text of every metric. */
  renderMetrics(): string {
    return this.metrics.render() + this.iptablesTotal.text() + this.iptablesLast.text();
  }
}

/** A `HOST:PORT` bind address (IPv6 as `[::1]:PORT`). */
export function parseBindAddress(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new RangeError(`${flag} '${text}' must be HOST:PORT, e.g. 127.0.0.1:10256`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/** Serve `routes` (path -> handler) on `bind`; resolves once listening. */
export function serveHttp(
  bind: { host: string; port: number },
  routes: Readonly<Record<string, () => { status: number; body: string; type?: string }>>,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    const route = routes[path];
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("404 page not found\n");
      return;
    }
    const r = route();
    res
      .writeHead(r.status, {
        "content-type": r.type ?? "application/json",
        "x-content-type-options": "nosniff",
      })
      .end(r.body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(bind.port, bind.host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

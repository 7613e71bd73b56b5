// The node agent's loop without a kernel: the commands it would run are recorded
// (and can fail), time is a fake clock. Checks kube-proxy's sync semantics: the
// first sync full with the bootstrap ensured, changes coalesced and rate-limited by
// minSyncPeriod, a sync every syncPeriod, a failed apply retried after syncPeriod as
// a full sync, healthz going 503 when an update waits longer than 2 x syncPeriod.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { ClusterState, type KubeObject } from "@knet/k8s";
import { proxyConfig } from "@knet/kube-proxy";
import { IptablesEngine } from "@knet/kube-proxy-iptables";
import { NftablesEngine } from "@knet/kube-proxy-nftables";
import { FakeClock } from "@knet/testkit";
import { describe, expect, it } from "vitest";
import {
  cleanupHost,
  type Exec,
  FULL_SYNC_PERIOD_MS,
  goTimeString,
  IptablesApplier,
  NftablesApplier,
  NodeAgent,
  nodeEligible,
} from "../src/commands/proxy-agent.js";
import { parseGoDuration } from "../src/commands/proxy-run.js";
import { capture } from "./capture.js";

const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["10.0.1.1"], clusterCIDR: "10.0.0.0/8" });

function svc(name: string, ip: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "shop" },
    spec: { clusterIP: ip, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  };
}
function slice(name: string, service: string, ips: string[], trigger?: string): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: "shop",
      labels: { "kubernetes.io/service-name": service },
      ...(trigger ? { annotations: { "endpoints.kubernetes.io/last-change-trigger-time": trigger } } : {}),
    },
    addressType: "IPv4",
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  };
}

/** A host that records commands; `fail` decides which of them exit 1. */
function fakeHost(fail: (cmd: string, args: readonly string[]) => boolean = () => false) {
  const calls: Call[] = [];
  const exec: Exec = (cmd, args, input) => {
    calls.push({ cmd, args, ...(input !== undefined ? { input } : {}) });
    if (fail(cmd, args)) return { code: 1, stdout: "", stderr: "iptables-restore: line 3 failed" };
    // -C: the jump is not there yet
    return { code: args.includes("-C") ? 1 : 0, stdout: "", stderr: "" };
  };
  return { calls, exec };
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(fail?: (cmd: string, args: readonly string[]) => boolean) {
  const clock = new FakeClock();
  const host = fakeHost(fail);
  const state = new ClusterState();
  state.applyAll([svc("web", "172.30.0.10"), slice("web-1", "web", ["10.1.0.2"])]);
  const logs: string[] = [];
  const agent = new NodeAgent({
    engine: new IptablesEngine({ config, simulate: false }),
    kernel: new IptablesApplier(config, host.exec),
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    log: (l) => logs.push(l),
    clock,
  });
  agent.follow(state);
  return { clock, host, state, agent, logs };
}

type Call = { cmd: string; args: readonly string[]; input?: string };
const restores = (calls: readonly Call[]) => calls.filter((c) => c.cmd === "iptables-restore");

describe("NodeAgent (iptables mode, fake host)", () => {
  it("runs a full first sync after ensuring the canaries and jumps, then partial syncs", async () => {
    const { host, state, agent } = setup();
    agent.start();
    expect(agent.counts).toMatchObject({ syncs: 1, full: 1 });
    await tick();
    // the objects replayed before the first sync asked for no second one
    expect(agent.counts.syncs).toBe(1);
    const inserts = host.calls.filter((c) => c.args.includes("-I"));
    expect(inserts.length).toBe(14); // 12 jumps + kubelet's two KUBE-FIREWALL ones (localhost NodePorts)
    expect(host.calls.findIndex((c) => c.cmd === "iptables-restore")).toBeGreaterThan(
      host.calls.lastIndexOf(inserts.at(-1) as (typeof host.calls)[number]),
    );
    const first = restores(host.calls)[0];
    expect(first?.args).toEqual(["-w", "5", "--noflush", "--counters"]);
    expect(first?.input).toContain("KUBE-SVC-");

    state.apply(slice("web-1", "web", ["10.1.0.3"]));
    await tick();
    expect(agent.counts).toMatchObject({ syncs: 2, full: 1, partial: 1 });
    const partial = restores(host.calls)[1]?.input ?? "";
    expect(partial).toContain("10.1.0.3");
    expect(partial).not.toContain("10.1.0.2:8080");
    // the partial sync ensured nothing outside the payload
    expect(host.calls.filter((c) => c.args.includes("-I")).length).toBe(14);
  });

  it("coalesces a burst of changes and holds syncs to the min sync period (burst 2)", async () => {
    const { clock, state, agent } = setup();
    agent.start();
    for (let i = 3; i < 8; i++) state.apply(slice("web-1", "web", [`10.1.0.${i}`]));
    await tick();
    expect(agent.counts.syncs).toBe(2); // one sync for the whole burst, from the second token
    state.apply(slice("web-1", "web", ["10.1.0.9"]));
    await tick();
    expect(agent.counts.syncs).toBe(2); // no token left: waits for the min sync period
    clock.advance(999);
    expect(agent.counts.syncs).toBe(2);
    clock.advance(1);
    expect(agent.counts.syncs).toBe(3);
    // then one every sync period with nothing to do
    clock.advance(30_000);
    expect(agent.counts.syncs).toBe(4);
  });

  it("retries a failed apply after the sync period, as a full sync, and counts the failure", async () => {
    let failing = false;
    const { clock, host, state, agent, logs } = setup((cmd) => failing && cmd === "iptables-restore");
    agent.start();
    failing = true;
    state.apply(slice("web-1", "web", ["10.1.0.3"]));
    await tick();
    expect(agent.counts).toMatchObject({ syncs: 1, failures: 1 });
    expect(logs.join("\n")).toMatch(/sync failed .*iptables-restore.*next sync is full, retried in 30s/);
    let m = agent.renderMetrics();
    expect(m).toContain("kubeproxy_sync_proxy_rules_iptables_restore_failures_total 1\n");
    expect(m).toContain("kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total 1\n");
    failing = false;
    const before = host.calls.length;
    clock.advance(29_999);
    expect(agent.counts.syncs).toBe(1);
    clock.advance(1);
    expect(agent.counts).toMatchObject({ syncs: 2, full: 2 });
    // the recovery re-ensured the jumps and wrote everything
    expect(host.calls.slice(before).some((c) => c.args.includes("-C"))).toBe(true);
    m = agent.renderMetrics();
    expect(m).toContain("kubeproxy_sync_full_proxy_rules_duration_seconds_count 2\n");
  });

  it("makes a partial sync full once the last full one is older than an hour", () => {
    const { clock, agent } = setup();
    agent.start();
    // periodic syncs at 30 s, 60 s, ...: the one at exactly 1 h is not older than an hour yet
    clock.advance(FULL_SYNC_PERIOD_MS);
    expect(agent.counts).toMatchObject({ full: 1, syncs: FULL_SYNC_PERIOD_MS / 30_000 + 1 });
    clock.advance(30_000);
    expect(agent.counts.full).toBe(2);
  });

  it("reports kube-proxy's healthz: 200 while synced, 503 when an update waits 2 x sync period", async () => {
    let failing = false;
    const { state, agent } = setup((cmd) => failing && cmd === "iptables-restore");
    agent.start();
    const ok = agent.health(true);
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body) as { lastUpdated: string; currentTime: string; nodeEligible: boolean };
    expect(body.lastUpdated).toBe(body.currentTime);
    expect(body.nodeEligible).toBe(true);
    failing = true;
    state.apply(slice("web-1", "web", ["10.1.0.3"]));
    await tick();
    // the queued update is older than 60 s only in real time: move the agent's view of it back
    (agent as unknown as { oldestQueuedAt: number }).oldestQueuedAt = Date.now() - 60_001;
    const bad = agent.health(true);
    expect(bad.status).toBe(503);
    expect(JSON.parse(bad.body).lastUpdated).not.toBe(JSON.parse(bad.body).currentTime);
    expect(agent.health(false).status).toBe(503);
    expect(agent.renderMetrics()).toMatch(/kubeproxy_proxy_healthz_total\{code="200"\} 1\n/);
    expect(agent.renderMetrics()).toMatch(/kubeproxy_proxy_healthz_total\{code="503"\} 1\n/);
  });

  it("turns nodeEligible false for a node being deleted or tainted for deletion", () => {
    expect(nodeEligible(undefined)).toBe(true);
    expect(nodeEligible({ metadata: { name: "n", deletionTimestamp: "2026-01-01T00:00:00Z" } })).toBe(false);
    expect(
      nodeEligible({
        metadata: { name: "n" },
        spec: { taints: [{ key: "ToBeDeletedByClusterAutoscaler", effect: "NoSchedule" }] },
      }),
    ).toBe(false);
    const { state, agent } = setup();
    agent.start();
    state.apply({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-1" },
      spec: { taints: [{ key: "ToBeDeletedByClusterAutoscaler", effect: "NoSchedule" }] },
    });
    const h = agent.health(true);
    expect(h.status).toBe(503);
    expect(JSON.parse(h.body).nodeEligible).toBe(false);
    expect(agent.health(false).status).toBe(200);
  });

  it("observes network programming latency from the slices' last-change-trigger-time", async () => {
    const { state, agent } = setup();
    agent.start();
    state.apply(slice("web-1", "web", ["10.1.0.3"], new Date(Date.now() - 1500).toISOString()));
    await tick();
    const m = agent.renderMetrics();
    expect(m).toContain("kubeproxy_network_programming_duration_seconds_count 1\n");
    expect(m).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="1"} 0\n');
    expect(m).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="2"} 1\n');
    // the nat rule count is what the payloads left: declared chains flushed, -A added
    const nat = /kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} (\d+)/.exec(m);
    expect(Number(nat?.[1])).toBeGreaterThan(5);
  });
});

describe("nftables applier", () => {
  it("runs each transaction of a sync through nft -f - in order", () => {
    const host = fakeHost();
    const engine = new NftablesEngine({ config });
    const applier = new NftablesApplier(host.exec);
    const state = new ClusterState();
    state.applyAll([svc("web", "172.30.0.10"), slice("web-1", "web", ["10.1.0.2"])]);
    const agent = new NodeAgent({
      engine,
      kernel: applier,
      minSyncPeriodMs: 0,
      syncPeriodMs: 30_000,
      log: () => {},
      clock: new FakeClock(),
    });
    agent.follow(state);
    agent.start();
    expect(host.calls.map((c) => [c.cmd, ...c.args].join(" "))).toEqual(["nft -f -"]);
    expect(host.calls[0]?.input).toContain("add table ip kube-proxy");
    expect(agent.renderMetrics()).toContain("kubeproxy_sync_proxy_rules_nftables_sync_failures_total 0\n");
    expect(agent.renderMetrics()).not.toContain("kubeproxy_sync_full_proxy_rules_duration_seconds");
  });
});

describe("cleanup", () => {
  it("deletes jumps until none is left, then kube-proxy's chains, leaving kubelet's and others' referenced chains", () => {
    let deletes = 0;
    const calls: string[] = [];
    const save = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":KUBE-SERVICES - [0:0]",
      ":KUBE-SVC-ABC - [0:0]",
      ":KUBE-MARK-MASQ - [0:0]",
      ":MY-CHAIN - [0:0]",
      "-A MY-CHAIN -j KUBE-MARK-MASQ",
      "COMMIT",
    ].join("\n");
    const exec: Exec = (cmd, args, input) => {
      calls.push([cmd, ...args].join(" ") + (input ? `\n${input}` : ""));
      if (args.includes("-D")) return { code: deletes++ < 1 ? 0 : 1, stdout: "", stderr: "" };
      if (cmd === "iptables-save" && args[1] === "nat") return { code: 0, stdout: save, stderr: "" };
      if (cmd === "iptables-save") return { code: 0, stdout: "", stderr: "" };
      if (cmd === "nft" && args[0] === "list") return { code: args[2] === "ip" ? 0 : 1, stdout: "", stderr: "" };
      return { code: 0, stdout: "", stderr: "" };
    };
    const done = cleanupHost(exec, (c) => c !== "ip6tables");
    expect(done[0]).toMatch(/deleted the jump/);
    expect(calls.some((c) => c.includes("KUBE-FIREWALL"))).toBe(false);
    const restore = calls.find((c) => c.startsWith("iptables-restore"));
    expect(restore).toBe(
      "iptables-restore -w 5 --noflush\n*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-ABC - [0:0]\n-X KUBE-SERVICES\n-X KUBE-SVC-ABC\nCOMMIT\n",
    );
    expect(done).toContain("iptables -t nat: kept KUBE-MARK-MASQ (still jumped to by another component's rule)");
    expect(done).toContain("nft: deleted table ip kube-proxy");
  });
});

describe("helpers and flags", () => {
  it("formats times as Go's time.String() and parses Go durations", () => {
    expect(goTimeString(Date.UTC(2026, 0, 2, 3, 4, 5, 120), 12.5)).toBe(
      "2026-01-02 03:04:05.12 +0000 UTC m=+12.500000000",
    );
    expect(goTimeString(undefined)).toBe("0001-01-01 00:00:00 +0000 UTC");
    expect(parseGoDuration("1m30s", "--x")).toBe(90_000);
    expect(parseGoDuration("500ms", "--x")).toBe(500);
    expect(() => parseGoDuration("30", "--iptables-sync-period")).toThrow(
      /--iptables-sync-period '30' is not a duration/,
    );
  });

  it.each([
    [["--mode", "ipvs", "-f", "x"], /--mode ipvs is rendered by 'knet proxy render' but not applied/],
    [["--mode", "bogus", "-f", "x"], /unknown --mode 'bogus'/],
    [["-f", "a", "--kubeconfig", "k"], /give --kubeconfig PATH or -f DIR, not both/],
    [[], /give --kubeconfig PATH, or one manifest directory/],
    [["--kubeconfig", "k", "--watch"], /--watch is for -f DIR/],
    [
      ["--mode", "iptables", "--nftables-sync-period", "1s", "-f", "x"],
      /--nftables-sync-period is for --mode nftables/,
    ],
    [["-f", "x", "--healthz-bind-address", "nope"], /--healthz-bind-address 'nope' must be HOST:PORT/],
    [["--cleanup", "--mode", "iptables"], /--cleanup takes no other flag/],
    [["-f", "/nonexistent-knet-dir"], /cannot read directory \/nonexistent-knet-dir: ENOENT/],
    [["--kubeconfig", "/nonexistent-kubeconfig"], /kubeconfig \/nonexistent-kubeconfig/],
    [["--config", "/nonexistent-kube-proxy.conf", "-f", "x"], /--config \/nonexistent-kube-proxy.conf: ENOENT/],
  ])("proxy run %j is a usage error", async (args, message) => {
    const c = capture();
    const code = await main(["proxy", "run", ...args], c.io);
    expect(code).toBe(2);
    expect(c.err()).toMatch(message);
  });

  it("refuses a KubeProxyConfiguration kube-proxy would not start with, with kube-proxy's message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "knet-proxy-run-"));
    try {
      const file = join(dir, "kube-proxy.conf");
      writeFileSync(
        file,
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  masqueradeBit: 99\n",
      );
      const c = capture();
      expect(await main(["proxy", "run", "--config", file, "-f", dir], c.io)).toBe(2);
      expect(c.err()).toMatch(
        /--config .*kube-proxy would not start with it:\n {2}.*MasqueradeBit: Invalid value: 99: must be within the range \[0, 31\]/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

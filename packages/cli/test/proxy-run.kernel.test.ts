// `knet proxy run -f DIR --watch` as a node agent in a throw-away node namespace:
// the built CLI applies its rules to that namespace's kernel, real TCP connections
// from a client namespace reach backend namespaces through them, an EndpointSlice
// file edit moves new connections to the new backend while an established one
// stays on the old, /metrics and /healthz report it, and --cleanup removes it all.
import { spawnSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentNode,
  BIN,
  backendIP,
  createAgentNode,
  NODE_IP,
  type RunningAgent,
  root,
  sample,
  sleep,
  startAgent,
  waitFor,
} from "./agent-node.js";

const VIP = "172.30.0.10";

function manifests(backend: number): { svc: string; slice: string } {
  return {
    svc: [
      "apiVersion: v1",
      "kind: Node",
      "metadata: {name: node-1}",
      `status: {addresses: [{type: InternalIP, address: ${NODE_IP}}]}`,
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: {name: web, namespace: shop}",
      `spec: {clusterIP: ${VIP}, ports: [{name: http, port: 80, targetPort: 8080}]}`,
      "",
    ].join("\n"),
    slice: [
      "apiVersion: discovery.k8s.io/v1",
      "kind: EndpointSlice",
      "metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}",
      "addressType: IPv4",
      `endpoints: [{addresses: [${backendIP(backend)}], conditions: {ready: true}}]`,
      "ports: [{name: http, port: 8080, protocol: TCP}]",
      "",
    ].join("\n"),
  };
}

describeKernel(
  "knet proxy run -f DIR --watch applies kube-proxy's rules to a node namespace",
  { commands: ["ip", "iptables-restore", "iptables-save", "nft", "curl"] },
  () => {
    let host: AgentNode;
    let dir = "";

    beforeAll(() => {
      const b = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--js", "--quiet"], {
        encoding: "utf8",
      });
      expect(b.status, b.stderr).toBe(0);
      host = createAgentNode(2);
    });

    afterAll(() => {
      host?.delete();
    });

    const one = (): string => host.one(VIP);

    describe.each(["iptables", "nftables"])("--mode %s", (mode) => {
      let agent: RunningAgent;
      const node = () => host.node;

      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), "knet-agent-"));
        const m = manifests(0);
        writeFileSync(join(dir, "web.yaml"), m.svc);
        writeFileSync(join(dir, "web-slice.yaml"), m.slice);
        // iptables from flags; nftables from kube-proxy's own configuration file
        writeFileSync(
          join(dir, "kube-proxy.conf"),
          "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\nhostnameOverride: node-1\nclusterCIDR: 10.0.0.0/8\n",
        );
        agent = await startAgent(
          host.node,
          mode === "iptables"
            ? ["--mode", mode, "-f", dir, "--watch", "--node", "node-1", "--cluster-cidr", "10.0.0.0/8"]
            : ["--config", join(dir, "kube-proxy.conf"), "-f", dir, "--watch"],
        );
      });

      afterAll(() => {
        if (agent?.proc.exitCode === null) agent.proc.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      });

      it("forwards to the new backend after an endpoint change and keeps the established connection", async () => {
        expect(agent.out()).toContain(`${mode} mode for node node-1`);
        expect(await waitFor("B0 through the service", 10_000, () => (one() === "B0" ? "B0" : undefined))).toBe("B0");
        const long = host.long(VIP);
        await waitFor("the long connection's first answer", 5000, () =>
          long.output().includes("B0:ping") ? true : undefined,
        );
        const before = host.get(`${agent.metrics}/metrics`).body;

        // the endpoint moves to B1: written aside and renamed in, as editors and kubectl cp do
        writeFileSync(join(dir, ".web-slice.tmp"), manifests(1).slice);
        const t0 = Date.now();
        renameSync(join(dir, ".web-slice.tmp"), join(dir, "web-slice.yaml"));
        await waitFor("B1 through the service", 10_000, () => (one() === "B1" ? true : undefined));
        const took = Date.now() - t0;
        const answers = Array.from({ length: 6 }, one);
        expect(answers).toEqual(Array(6).fill("B1"));
        // change to rule within the bound: debounce 100 ms + at most the 1 s min sync period + apply
        expect(took).toBeLessThan(5000);

        const seen = long.output().length;
        await sleep(600);
        const later = long.output().slice(seen).trim().split("\n");
        expect(later.length).toBeGreaterThanOrEqual(3);
        for (const l of later) expect(l).toMatch(/^B0:ping\d+$/);
        expect(long.output()).not.toMatch(/ERR|CLOSED/);
        long.stop();

        const after = host.get(`${agent.metrics}/metrics`).body;
        const syncs = (t: string) => sample(t, "kubeproxy_sync_proxy_rules_duration_seconds_count");
        expect(syncs(before)).toBeGreaterThanOrEqual(1);
        expect(syncs(after)).toBeGreaterThan(syncs(before));
        expect(sample(after, "kubeproxy_sync_proxy_rules_endpoint_changes_total")).toBeGreaterThan(
          sample(before, "kubeproxy_sync_proxy_rules_endpoint_changes_total"),
        );
        expect(sample(after, "kubeproxy_sync_proxy_rules_last_timestamp_seconds")).toBeGreaterThan(t0 / 1000 - 1);
        if (mode === "iptables") {
          expect(sample(after, "kubeproxy_sync_partial_proxy_rules_duration_seconds_count")).toBeGreaterThanOrEqual(1);
          expect(sample(after, "kubeproxy_sync_full_proxy_rules_duration_seconds_count")).toBe(1);
          const natRules = sample(after, 'kubeproxy_sync_proxy_rules_iptables_total{table="nat"}');
          // the kernel holds as many kube-proxy rules in nat as the metric says
          const kernelNat = node()
            .must("iptables-save", ["-t", "nat"])
            .split("\n")
            .filter((l) => /^-A KUBE-/.test(l)).length;
          expect(natRules).toBe(kernelNat);
          expect(sample(after, "kubeproxy_sync_proxy_rules_iptables_restore_failures_total")).toBe(0);
        } else {
          expect(sample(after, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total")).toBe(0);
        }
        const h = host.get(`${agent.healthz}/healthz`);
        expect(h.status).toBe("200");
        const body = JSON.parse(h.body) as Record<string, unknown>;
        expect(Object.keys(body)).toEqual(["lastUpdated", "currentTime", "nodeEligible"]);
        expect(body.nodeEligible).toBe(true);
        expect(body.currentTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/);
        expect(host.get(`${agent.metrics}/proxyMode`).body).toBe(mode);
      });

      it("stops on SIGTERM leaving its rules, and --cleanup removes them", async () => {
        const exited = new Promise<number | null>((r) => agent.proc.once("exit", (code) => r(code)));
        agent.proc.kill("SIGTERM");
        expect(await exited).toBe(0);
        const kubeChains = () =>
          node()
            .must("iptables-save", [])
            .split("\n")
            .filter((l) => /^:KUBE-/.test(l))
            .map((l) => l.slice(1, l.indexOf(" ")));
        const table = () => node().run("nft", ["list", "table", "ip", "kube-proxy"]).code === 0;
        if (mode === "iptables") expect(kubeChains()).toContain("KUBE-SERVICES");
        else expect(table()).toBe(true);
        expect(one()).toBe("B1");

        const c = node().run("node", [BIN, "proxy", "run", "--cleanup"]);
        expect(c.code, c.stderr).toBe(0);
        expect(c.stdout).toMatch(/cleaned up \(\d+ changes?\)/);
        // only kubelet's KUBE-FIREWALL (which kube-proxy ensures but does not own) may stay
        expect(kubeChains().filter((n) => n !== "KUBE-FIREWALL")).toEqual([]);
        expect(table()).toBe(false);
        node().run("iptables", ["-F", "INPUT"]);
        node().run("iptables", ["-F", "OUTPUT"]);
        node().run("iptables", ["-X", "KUBE-FIREWALL"]);
        // without rules, the VIP is no destination any more
        expect(one()).toMatch(/^ERR:/);
      });
    });
  },
);

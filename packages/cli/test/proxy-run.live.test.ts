// `knet proxy run --kubeconfig` against a real kube-apiserver 1.20 with its real
// EndpointSlice controller (kube-controller-manager), the agent inside a throw-away
// node namespace: the API server's loopback port is bridged into the namespace's
// own loopback (testkit's bridgeLoopbackPort), so the agent's rules live only in
// that namespace. A pod change made through the API moves new connections to the
// new backend; an established connection stays on the old one.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { type ApiServer, bridgeLoopbackPort, describeKernel, startApiServer } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentNode,
  BIN,
  backendIP,
  createAgentNode,
  NODE_IP,
  root,
  sample,
  sleep,
  startAgent,
  waitFor,
} from "./agent-node.js";

const VIP = "10.96.0.50";

describeKernel(
  "knet proxy run --kubeconfig: a live cluster into a node namespace's kernel",
  { commands: ["ip", "socat", "iptables-restore", "iptables-save", "nft", "curl"] },
  () => {
    let server: ApiServer;
    let host: AgentNode;
    let stopBridge = (): void => {};

    const api = async (method: string, path: string, body?: unknown, type?: string): Promise<unknown> => {
      const r = await server.api(method, path, body, type);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body;
    };
    /** A pod of the service on node-1, running and ready at backend k's address. */
    const readyPod = async (k: number): Promise<void> => {
      await api("POST", "/api/v1/namespaces/shop/pods", {
        metadata: { name: `web-${k}`, labels: { app: "web" } },
        spec: { nodeName: "node-1", containers: [{ name: "web", image: "web", ports: [{ containerPort: 8080 }] }] },
      });
      await api(
        "PATCH",
        `/api/v1/namespaces/shop/pods/web-${k}/status`,
        {
          status: {
            phase: "Running",
            podIP: backendIP(k),
            podIPs: [{ ip: backendIP(k) }],
            conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString() }],
          },
        },
        "application/merge-patch+json",
      );
    };
    const deletePod = (k: number) => api("DELETE", `/api/v1/namespaces/shop/pods/web-${k}`, { gracePeriodSeconds: 0 });

    beforeAll(async () => {
      const b = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--js", "--quiet"], {
        encoding: "utf8",
      });
      expect(b.status, b.stderr).toBe(0);
      server = await startApiServer({ controllers: true });
      host = createAgentNode(2);
      stopBridge = await bridgeLoopbackPort(host.node, Number(new URL(server.url).port));
      await api("POST", "/api/v1/nodes", { metadata: { name: "node-1" } });
      await api(
        "PATCH",
        "/api/v1/nodes/node-1/status",
        { status: { addresses: [{ type: "InternalIP", address: NODE_IP }] } },
        "application/merge-patch+json",
      );
      await api("POST", "/api/v1/namespaces", { metadata: { name: "shop" } });
      await api("POST", "/api/v1/namespaces/shop/services", {
        metadata: { name: "web" },
        spec: { clusterIP: VIP, selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      });
    });

    afterAll(async () => {
      stopBridge();
      host?.delete();
      await server?.stop();
    });

    describe.each(["iptables", "nftables"])("--mode %s", (mode) => {
      it("follows a pod change made through the API, keeping the established connection", async () => {
        await readyPod(0);
        const agent = await startAgent(host.node, [
          "--mode",
          mode,
          "--kubeconfig",
          server.kubeconfig,
          "--node",
          "node-1",
          "--cluster-cidr",
          "10.0.0.0/8",
        ]);
        try {
          expect(agent.err()).not.toContain("no node IP");
          await waitFor("B0 through the service", 20_000, () => (host.one(VIP) === "B0" ? true : undefined));
          const long = host.long(VIP);
          await waitFor("the long connection's first answer", 5000, () =>
            long.output().includes("B0:ping") ? true : undefined,
          );

          // the backend moves: a new ready pod, the old one deleted; the controller rewrites the slice
          await readyPod(1);
          const t0 = Date.now();
          await deletePod(0);
          await waitFor("only B1 through the service", 15_000, () =>
            [0, 1, 2, 3].map(() => host.one(VIP)).every((a) => a === "B1") ? true : undefined,
          );
          const took = Date.now() - t0;
          expect(took).toBeLessThan(10_000);
          const seen = long.output().length;
          await sleep(600);
          const later = long.output().slice(seen).trim().split("\n");
          expect(later.length).toBeGreaterThanOrEqual(3);
          for (const l of later) expect(l).toMatch(/^B0:ping\d+$/);
          expect(long.output()).not.toMatch(/ERR|CLOSED/);
          long.stop();

          const m = host.get(`${agent.metrics}/metrics`).body;
          expect(sample(m, "kubeproxy_sync_proxy_rules_duration_seconds_count")).toBeGreaterThanOrEqual(2);
          // the real controller stamps endpoints.kubernetes.io/last-change-trigger-time on the slices
          // it writes for a pod that became ready (from the Ready condition's lastTransitionTime)
          expect(sample(m, "kubeproxy_network_programming_duration_seconds_count")).toBeGreaterThanOrEqual(1);
          expect(host.get(`${agent.healthz}/healthz`).status).toBe("200");
          console.log(`${mode}: API delete to only the new backend answering: ${took} ms`);
        } finally {
          const exited = new Promise<number | null>((r) => agent.proc.once("exit", (code) => r(code)));
          agent.proc.kill("SIGTERM");
          expect(await exited).toBe(0);
          expect(host.node.run("node", [BIN, "proxy", "run", "--cleanup"]).code).toBe(0);
          await deletePod(1).catch(() => {});
        }
      });
    });
  },
);

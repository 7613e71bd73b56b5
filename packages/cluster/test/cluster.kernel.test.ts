import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Cluster, traceRequest } from "@knet/cluster";
import "./modes.js";
import { renderBootstrap } from "@knet/kube-proxy-iptables";
import { realize } from "@knet/netstack";
import { describeKernel, must, run } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

const manifests = readFileSync(new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url), "utf8");
const FRONTEND = "shop/frontend-6d8f9c7b5-q2xkz";
const API = ["shop/api-5b7c9d8f6-4kz8m", "shop/api-5b7c9d8f6-7wq2n", "shop/api-5b7c9d8f6-x9p3r"];

/**
 * The demo cluster realized in real namespaces (underlay, two nodes, eight
 * pods, flannel VXLAN), each node loaded with the iptables-restore payload its
 * simulated kube-proxy rendered. Real connections must take the path the
 * simulator's trace predicts. NetworkPolicy is not loaded here, so only flows
 * the policies allow are compared.
 */
describeKernel("the demo cluster on the real kernel", { commands: ["ip", "iptables-restore", "socat"] }, () => {
  let cluster: Cluster;
  let real: ReturnType<typeof realize>;
  const servers: ChildProcess[] = [];

  const connect = (ip: string, port: number): string | undefined => {
    const r = run(
      "ip",
      [
        "netns",
        "exec",
        real.nsName(cluster.pod(FRONTEND).netns),
        "socat",
        "-T2",
        "-",
        `TCP:${ip}:${port},connect-timeout=2`,
      ],
      "",
      10_000,
    );
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  const txPackets = (node: string, dev: string): number => {
    const j = JSON.parse(must("ip", ["-n", real.nsName(node), "-s", "-j", "link", "show", dev])) as {
      stats64: { tx: { packets: number } };
    }[];
    return j[0]?.stats64.tx.packets ?? 0;
  };

  beforeAll(async () => {
    cluster = await Cluster.fromManifests(manifests, { mode: "iptables" });
    real = realize(cluster.topology, { prefix: `knet-cl${process.pid % 100000}-` });
    for (const cmd of real.setup) must(cmd[0] as string, cmd.slice(1));
    for (const n of cluster.nodes.values()) {
      // kube-proxy's startup (canaries and the jumps from the built-in chains), then its sync payload.
      must(
        "ip",
        ["netns", "exec", real.nsName(n.name), "iptables-restore", "--noflush"],
        renderBootstrap(n.proxy.config),
      );
      must("ip", ["netns", "exec", real.nsName(n.name), "iptables-restore", "--noflush"], n.proxy.render());
    }
    for (const key of API) {
      const p = cluster.pod(key);
      const s = spawn(
        "ip",
        ["netns", "exec", real.nsName(p.netns), "socat", "TCP-LISTEN:8080,reuseaddr,fork", `SYSTEM:echo ${key}`],
        { stdio: "ignore" },
      );
      servers.push(s);
    }
    for (let k = 0; k < 60; k++) {
      const up = API.every(
        (key) =>
          run("ip", [
            "netns",
            "exec",
            real.nsName(cluster.pod(key).netns),
            "ss",
            "-ltnH",
            "sport = :8080",
          ]).stdout.trim() !== "",
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(() => {
    for (const s of servers) if (s.exitCode === null) s.kill("SIGKILL");
    for (const cmd of real?.teardown ?? []) run(cmd[0] as string, cmd.slice(1));
  });

  it("a ClusterIP connection lands on an api pod in the kernel, as in the simulator", () => {
    const apiIp = cluster.services.get("shop/api")?.service.spec?.clusterIP ?? "";
    const kernel = new Set<string>();
    const sim = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const got = connect(apiIp, 80);
      expect(got, `connection ${i} to ${apiIp}:80`).toBeDefined();
      kernel.add(got ?? "");
      const t = traceRequest(cluster, { from: FRONTEND, to: `http://${apiIp}:80` });
      expect(t.connected).toBe(true);
      sim.add(t.backend?.pod ?? "");
    }
    for (const b of [...kernel, ...sim]) expect(API).toContain(b);
    expect(kernel.size).toBeGreaterThan(1);
    expect(sim.size).toBeGreaterThan(1);
  });

  it("a connection to a pod on the other node goes through flannel.1 (VXLAN) in both", () => {
    const target = cluster.pod("shop/api-5b7c9d8f6-7wq2n");
    const t = traceRequest(cluster, { from: FRONTEND, to: `http://${target.ip}:8080` });
    expect(t.connected).toBe(true);
    expect(t.path?.steps.some((s) => s.kind === "encap" && s.ns === "node-a" && s.dev === "flannel.1")).toBe(true);
    const before = txPackets("node-a", "flannel.1");
    expect(connect(target.ip.toString(), 8080)).toBe(target.key);
    expect(txPackets("node-a", "flannel.1")).toBeGreaterThan(before);
  });

  it("a ClusterIP port nobody serves fails in both", () => {
    const t = traceRequest(cluster, { from: FRONTEND, to: "http://10.96.100.99:80" });
    expect(t.connected).toBe(false);
    expect(connect("10.96.100.99", 80)).toBeUndefined();
  });
});

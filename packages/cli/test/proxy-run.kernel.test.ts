// `knet proxy run -f DIR --watch` as a node agent in a throw-away node namespace:
// the built CLI applies its rules to that namespace's kernel, real TCP connections
// from a client namespace reach backend namespaces through them, an EndpointSlice
// file edit moves new connections to the new backend while an established one
// stays on the old, /metrics and /healthz report it, and --cleanup removes it all.
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeKernel, Netns, vethPair } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..", "..");
const BIN = join(root, "packages", "cli", "bin", "knet.js");
const NODE_IP = "10.0.1.1";
const CLIENT_IP = "10.0.1.2";
const VIP = "172.30.0.10";
const backendIP = (k: number): string => `10.1.${k}.2`;

/** A backend: greets each connection with its name, then answers each line with `NAME:line`. */
const SERVER = `
const net = require("node:net");
const name = process.argv[1];
net.createServer((s) => {
  s.on("error", () => {});
  s.write(name + "\\n");
  let buf = "";
  s.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\\n")) >= 0) { s.write(name + ":" + buf.slice(0, i) + "\\n"); buf = buf.slice(i + 1); }
  });
}).listen(8080, "0.0.0.0", () => console.log("ready"));`;

/** One short connection: prints the greeting (or ERR:code). */
const ONE = `
const net = require("node:net");
const s = net.connect({ host: process.argv[1], port: 80, timeout: 1500 });
s.once("data", (d) => { console.log(String(d).trim()); s.destroy(); });
s.on("timeout", () => { console.log("ERR:TIMEOUT"); s.destroy(); });
s.on("error", (e) => console.log("ERR:" + e.code));`;

/** A long-lived connection: a line every 100 ms, every answer printed. */
const LONG = `
const net = require("node:net");
const s = net.connect({ host: process.argv[1], port: 80 });
let n = 0;
s.on("data", (d) => process.stdout.write(String(d)));
s.on("error", (e) => { console.log("ERR:" + e.code); process.exit(1); });
s.on("close", () => { console.log("CLOSED"); process.exit(1); });
setInterval(() => s.write("ping" + (n++) + "\\n"), 100);`;

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The value of one sample of a Prometheus text exposition. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

describeKernel(
  "knet proxy run -f DIR --watch applies kube-proxy's rules to a node namespace",
  { commands: ["ip", "iptables-restore", "iptables-save", "nft", "curl"] },
  () => {
    const made: Netns[] = [];
    let node: Netns;
    let client: Netns;
    let dir = "";

    beforeAll(() => {
      const b = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--js", "--quiet"], {
        encoding: "utf8",
      });
      expect(b.status, b.stderr).toBe(0);
      node = Netns.create("agent");
      client = Netns.create("agentc");
      made.push(node, client);
      node.must("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
      const [nc, cn] = vethPair(node, client);
      node.must("ip", ["addr", "add", `${NODE_IP}/24`, "dev", nc]);
      client.must("ip", ["addr", "add", `${CLIENT_IP}/24`, "dev", cn]);
      client.must("ip", ["route", "add", "default", "via", NODE_IP]);
      for (const k of [0, 1]) {
        const b = Netns.create(`agentb${k}`);
        made.push(b);
        const [nb, bn] = vethPair(node, b);
        node.must("ip", ["addr", "add", `10.1.${k}.1/24`, "dev", nb]);
        b.must("ip", ["addr", "add", `${backendIP(k)}/24`, "dev", bn]);
        b.must("ip", ["route", "add", "default", "via", `10.1.${k}.1`]);
        b.spawn("node", ["-e", SERVER, `B${k}`]);
      }
    });

    afterAll(() => {
      for (const ns of made) ns.delete();
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    const one = (): string => client.run("node", ["-e", ONE, VIP]).stdout.trim();

    describe.each(["iptables", "nftables"])("--mode %s", (mode) => {
      let agent: ChildProcess;
      let out = "";
      let err = "";
      let healthz = "";
      let metrics = "";
      const get = (url: string) => node.run("curl", ["-s", "-w", "\n%{http_code}", url]).stdout;

      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), "knet-agent-"));
        const m = manifests(0);
        writeFileSync(join(dir, "web.yaml"), m.svc);
        writeFileSync(join(dir, "web-slice.yaml"), m.slice);
        agent = node.spawn("node", [
          BIN,
          "proxy",
          "run",
          "--mode",
          mode,
          "-f",
          dir,
          "--watch",
          "--node",
          "node-1",
          "--cluster-cidr",
          "10.0.0.0/8",
          "--healthz-bind-address",
          "127.0.0.1:0",
          "--metrics-bind-address",
          "127.0.0.1:0",
        ]);
        agent.stdout?.on("data", (b: Buffer) => {
          out += b.toString();
        });
        agent.stderr?.on("data", (b: Buffer) => {
          err += b.toString();
        });
        const line = await waitFor(
          "the agent's start line",
          20_000,
          () => /healthz (\S+), metrics (\S+)/.exec(out) ?? (agent.exitCode !== null ? ["", "", ""] : undefined),
        );
        expect(agent.exitCode, err).toBeNull();
        healthz = `http://${line[1]}`;
        metrics = `http://${line[2]}`;
      });

      afterAll(() => {
        if (agent.exitCode === null) agent.kill("SIGKILL");
      });

      it("forwards to the new backend after an endpoint change and keeps the established connection", async () => {
        expect(out).toContain(`${mode} mode for node node-1`);
        expect(await waitFor("B0 through the service", 10_000, () => (one() === "B0" ? "B0" : undefined))).toBe("B0");
        const long = client.spawn("node", ["-e", LONG, VIP]);
        let longOut = "";
        long.stdout?.on("data", (b: Buffer) => {
          longOut += b.toString();
        });
        await waitFor("the long connection's first answer", 5000, () =>
          longOut.includes("B0:ping") ? true : undefined,
        );
        const before = get(`${metrics}/metrics`);

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

        const seen = longOut.length;
        await sleep(600);
        const later = longOut.slice(seen).trim().split("\n");
        expect(later.length).toBeGreaterThanOrEqual(3);
        for (const l of later) expect(l).toMatch(/^B0:ping\d+$/);
        expect(longOut).not.toMatch(/ERR|CLOSED/);
        long.kill("SIGKILL");

        const after = get(`${metrics}/metrics`);
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
          const kernelNat = node
            .must("iptables-save", ["-t", "nat"])
            .split("\n")
            .filter((l) => /^-A KUBE-/.test(l)).length;
          expect(natRules).toBe(kernelNat);
          expect(sample(after, "kubeproxy_sync_proxy_rules_iptables_restore_failures_total")).toBe(0);
        } else {
          expect(sample(after, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total")).toBe(0);
        }
        const h = get(`${healthz}/healthz`).split("\n");
        expect(h[1]).toBe("200");
        const body = JSON.parse(h[0] as string) as Record<string, unknown>;
        expect(Object.keys(body)).toEqual(["lastUpdated", "currentTime", "nodeEligible"]);
        expect(body.nodeEligible).toBe(true);
        expect(body.currentTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/);
        expect(get(`${metrics}/proxyMode`).split("\n")[0]).toBe(mode);
      });

      it("stops on SIGTERM leaving its rules, and --cleanup removes them", async () => {
        const exited = new Promise<number | null>((r) => agent.once("exit", (code) => r(code)));
        agent.kill("SIGTERM");
        expect(await exited).toBe(0);
        const kubeChains = () =>
          node
            .must("iptables-save", [])
            .split("\n")
            .filter((l) => /^:KUBE-/.test(l))
            .map((l) => l.slice(1, l.indexOf(" ")));
        const table = () => node.run("nft", ["list", "table", "ip", "kube-proxy"]).code === 0;
        if (mode === "iptables") expect(kubeChains()).toContain("KUBE-SERVICES");
        else expect(table()).toBe(true);
        expect(one()).toBe("B1");

        const c = node.run("node", [BIN, "proxy", "run", "--cleanup"]);
        expect(c.code, c.stderr).toBe(0);
        expect(c.stdout).toMatch(/cleaned up \(\d+ changes?\)/);
        // only kubelet's KUBE-FIREWALL (which kube-proxy ensures but does not own) may stay
        expect(kubeChains().filter((n) => n !== "KUBE-FIREWALL")).toEqual([]);
        expect(table()).toBe(false);
        node.run("iptables", ["-F", "INPUT"]);
        node.run("iptables", ["-F", "OUTPUT"]);
        node.run("iptables", ["-X", "KUBE-FIREWALL"]);
        // without rules, the VIP is no destination any more
        expect(one()).toMatch(/^ERR:/);
      });
    });
  },
);

import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const GOLDEN = join(import.meta.dirname, "..", "..", "mesh", "test", "fixtures", "istio");
let dir = "";
let file = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-cli-mesh-"));
  file = join(dir, "pods.yaml");
  await writeFile(
    file,
    `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata:
  namespace: shop
  name: cart
  annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: "5432"}
spec:
  serviceAccountName: cart
  containers: [{name: cart, image: cart, ports: [{containerPort: 8080}]}]
status: {podIP: 10.244.0.5}
---
apiVersion: v1
kind: Pod
metadata: {namespace: shop, name: host, labels: {}}
spec:
  hostNetwork: true
  containers: [{name: h, image: h}]
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = async (...argv: string[]) => {
  const c = capture();
  const code = await main(["mesh", ...argv], c.io);
  return { code, out: c.out(), err: c.err() };
};

describe("knet mesh capture", () => {
  it("prints what istio-iptables --dry-run records, for istio-iptables' own flags (golden tproxy case)", async () => {
    const r = await run(
      "capture",
      "-m",
      "TPROXY",
      "-b",
      "*",
      "-x",
      "1.1.0.0/16",
      "-i",
      "9.9.0.0/16",
      "--redirect-dns",
      "--dns-servers",
      "127.0.0.53",
      "-u",
      "1337",
      "-g",
      "1337",
      "-c",
      "not-istio-nic",
      "--enable-ipv6",
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(readFileSync(join(GOLDEN, "iptables", "tproxy.golden"), "utf8"));
  });

  it("--format nftables (or --native-nftables) prints istio-nftables' transaction", async () => {
    const want = readFileSync(join(GOLDEN, "nftables", "inbound-ports-wildcard.golden"), "utf8");
    expect((await run("capture", "-b", "*", "--format", "nftables")).out).toBe(want);
    expect((await run("capture", "-b", "*", "--native-nftables")).out).toBe(want);
  });

  it("--format iptables-restore / ip6tables-restore print the restore inputs", async () => {
    expect((await run("capture", "--format", "iptables-restore")).out).toMatch(/^\* nat\n-N ISTIO_INBOUND\n/);
    expect((await run("capture", "--format", "ip6tables-restore", "--enable-ipv6")).out).toContain("-s ::6/128");
    const r = await run("capture", "--format", "ip6tables-restore");
    expect(r.code).toBe(2);
  });

  it("derives the rules from a pod as the injector does", async () => {
    const r = await run("capture", "-f", file, "--pod", "shop/cart", "--format", "iptables-restore");
    expect(r.code).toBe(0);
    expect(r.out).toContain("-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN");
    expect(r.out).toContain("-A ISTIO_OUTPUT -p tcp --dport 5432 -j RETURN");
    const pod = await run("pod", "-f", file, "--pod", "shop/cart");
    expect(JSON.parse(pod.out)).toMatchObject({ injected: true, spiffeId: "spiffe://cluster.local/ns/shop/sa/cart" });
  });

  it("reads -f as every command does: what it cannot use is named on stderr and skipped; --strict fails", async () => {
    const messy = join(dir, "messy.yaml");
    await writeFile(
      messy,
      `${readFileSync(file, "utf8")}---
apiVersion: apps/v1
kind: Deployment
metadata: {namespace: shop, name: cart}
---
apiVersion: v1
kind: Service
metadata: {namespace: shop, name: broken}
spec: {ports: [{port: 0}]}
`,
    );
    const r = await run("pod", "-f", messy, "--pod", "shop/cart");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ injected: true });
    const lines = r.err
      .replace(/\(line \d+\)/g, "(line _)")
      .trimEnd()
      .split("\n");
    expect(lines).toEqual([
      `knet mesh: skipped Deployment shop/cart (${messy} document 4 (line _)): knet mesh does not read Deployment objects`,
      `knet mesh: skipped Service shop/broken (${messy} document 5 (line _)): spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive (and 1 more)`,
      `knet mesh: 2 objects skipped: run 'knet validate -f ${messy}' for every problem, or add --strict to fail instead`,
    ]);
    const strict = await run("pod", "-f", messy, "--pod", "shop/cart", "--strict");
    expect(strict.code).toBe(2);
    expect(strict.out).toBe("");
  });

  it("exit 1 with the reason for a pod that gets no sidecar; exit 2 with the cause for bad input", async () => {
    const host = await run("capture", "-f", file, "--pod", "shop/host");
    expect(host.code).toBe(1);
    expect(host.err).toMatch(/hostNetwork/);
    for (const [argv, re] of [
      [["capture", "-b", "80,x"], /inboundPortsInclude: "x" is not a port/],
      [["capture", "--format", "yaml"], /unknown --format 'yaml'/],
      [["capture", "--bogus"], /unknown argument '--bogus'/],
      [["capture", "-f", file, "--pod", "shop/nope"], /no Pod shop\/nope/],
      [["capture", "-f", file, "--pod", "shop/cart", "-b", "*"], /flags come from the pod/],
      [["capture", "--cleanup-only"], /not supported/],
    ] as const) {
      const c = capture();
      const code = await main(["mesh", ...argv], c.io);
      expect(code, argv.join(" ")).toBe(2);
      expect(c.err(), argv.join(" ")).toMatch(re);
    }
  });
});

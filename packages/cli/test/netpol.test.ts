import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

let dir = "";
let cluster = "";
let bad = "";

const pod = (ns: string, name: string, ip: string) => `---
apiVersion: v1
kind: Pod
metadata: {namespace: ${ns}, name: ${name}, labels: {pod: ${name}}}
spec:
  containers:
  - name: c
    ports: [{name: serve-80-tcp, containerPort: 80}, {name: serve-81-udp, containerPort: 81, protocol: UDP}]
status: {podIP: ${ip}}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-cli-netpol-"));
  cluster = join(dir, "cluster.yaml");
  await writeFile(
    cluster,
    `apiVersion: v1
kind: Namespace
metadata: {name: "y"}
${pod("x", "b", "10.0.0.2")}${pod("x", "a", "10.0.0.1")}${pod('"y"', "a", "10.0.1.1")}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: allow-y-to-a}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "y"}}}]
    ports: [{port: serve-80-tcp}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pass-all}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - {name: pass, action: Pass, from: [{namespaces: {}}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
`,
  );
  bad = join(dir, "bad.yaml");
  await writeFile(
    bad,
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]}]
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CONFIGMAP_SKIPPED = (cmd: string, ...more: string[]): string =>
  `knet ${cmd}: skipped ConfigMap ignored (${cluster} document 7 (line 51)): knet ${cmd} does not read ConfigMap objects\nknet ${cmd}: 1 object skipped: run 'knet validate -f ${[cluster, ...more].join(" -f ")}' for every problem, or add --strict to fail instead\n`;

describe("knet netpol", () => {
  it("matrix --json prints the contract shape, pods sorted by namespace then name", async () => {
    const c = capture();
    const code = await main(["netpol", "matrix", "-f", cluster, "--ports", "80/TCP,81/UDP", "--json"], c.io);
    expect(c.err()).toBe(CONFIGMAP_SKIPPED("netpol matrix"));
    expect(code).toBe(0);
    const doc = JSON.parse(c.out()) as { pods: string[]; ports: string[]; allowed: Record<string, boolean[][]> };
    expect(Object.keys(doc)).toEqual(["pods", "ports", "allowed"]);
    expect(doc.pods).toEqual(["x/a", "x/b", "y/a"]);
    expect(doc.ports).toEqual(["80/TCP", "81/UDP"]);
    // x/a admits only namespace y on its named port 80/TCP.
    expect(doc.allowed["80/TCP"]).toEqual([
      [true, true, true],
      [false, true, true],
      [true, true, true],
    ]);
    expect(doc.allowed["81/UDP"]).toEqual([
      [true, true, true],
      [false, true, true],
      [false, true, true],
    ]);
  });

  it("matrix -o wide uses . and X under the pod names", async () => {
    const c = capture();
    expect(await main(["netpol", "matrix", "-f", cluster, "--ports", "80/TCP", "-o", "wide"], c.io)).toBe(0);
    expect(c.out().split("\n")[1]?.trim().split(/ +/)).toEqual(["x/a", "x/b", "y/a"]);
    expect(c.out().split("\n")[3]?.split(/ +/)).toEqual(["x/b", "X", ".", "."]);
  });

  it("explain exits 0 when allowed, 1 when denied, with the walkthrough", async () => {
    const ok = capture();
    expect(
      await main(["netpol", "explain", "-f", cluster, "--from", "y/a", "--to", "x/a", "--port", "80/TCP"], ok.io),
    ).toBe(0);
    expect(ok.out()).toContain("y/a -> x/a TCP/80: ALLOWED");
    expect(ok.out()).toContain("[ANP] Pass (pass-all: ingress rule 0");
    expect(ok.out()).toContain("-> [NPv1] Allowed (x/allow-y-to-a: ingress rule 0, peer 0, port 0 (named port = 80))");
    const no = capture();
    expect(
      await main(["netpol", "explain", "-f", cluster, "--from", "x/b", "--to", "x/a", "--port", "80/TCP"], no.io),
    ).toBe(1);
    expect(no.out()).toContain("x/b -> x/a TCP/80: DENIED");
    expect(no.out()).toContain("-> [NPv1] Dropped (x/allow-y-to-a)");
    expect(no.out()).toContain("does not match namespace x");
  });

  it("bad input exits 2 with one line on stderr", async () => {
    for (const args of [
      ["netpol", "explain", "-f", cluster, "--from", "x/zz", "--to", "x/a", "--port", "80/TCP"],
      ["netpol", "explain", "-f", cluster, "--from", "x/b", "--to", "x/a", "--port", "80/ICMP"],
      ["netpol", "explain", "-f", cluster, "--from", "x/b", "--to", "x/a"],
      ["netpol", "matrix", "-f", join(dir, "missing.yaml")],
      ["netpol", "frobnicate", "-f", cluster],
      ["netpol", "matrix"],
    ]) {
      const c = capture();
      expect(await main(args, c.io), args.join(" ")).toBe(2);
      const errors = c.err().replace(CONFIGMAP_SKIPPED(args[1] === undefined ? "" : `netpol ${args[1]}`), "");
      expect(errors.trim().split("\n")).toHaveLength(1);
    }
  });

  it("diff lists the cells a what-if file changes, exit 1 when something changes", async () => {
    const extra = join(dir, "deny-b.yaml");
    await writeFile(
      extra,
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: x, name: deny-b}\nspec: {podSelector: {matchLabels: {pod: b}}}\n",
    );
    const c = capture();
    const code = await main(["netpol", "diff", "-f", cluster, "--add", extra, "--ports", "80/TCP"], c.io);
    expect(c.err()).toBe(CONFIGMAP_SKIPPED("netpol diff") + CONFIGMAP_SKIPPED("netpol diff", extra));
    expect(code).toBe(1);
    expect(c.out().trim().split("\n").sort()).toEqual([
      "80/TCP x/a -> x/b: allowed -> blocked",
      "80/TCP y/a -> x/b: allowed -> blocked",
    ]);
    const same = capture();
    expect(
      await main(
        ["netpol", "diff", "-f", cluster, "--add", cluster.replace("cluster.yaml", "empty.yaml"), "--ports", "80/TCP"],
        same.io,
      ),
    ).toBe(2);
  });

  it("compile prints one atomic inet table", async () => {
    const c = capture();
    expect(await main(["netpol", "compile", "-f", cluster, "--table", "np_test"], c.io)).toBe(0);
    const text = c.out();
    expect(text.startsWith("table inet np_test\ndelete table inet np_test\ntable inet np_test {")).toBe(true);
    expect(text).toContain("map ingress_pods4");
    expect(text).toContain('comment "np x/allow-y-to-a ingress rule 0 peer 0 port 0"');
    expect(text).toContain("ip daddr . tcp dport { 10.0.0.1 . 80 }");
  });
});

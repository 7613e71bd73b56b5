import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitCode, main, processIo } from "@knet/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { capture } from "./capture.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

const DEMO = new URL("../../../examples/manifests/demo-cluster.yaml", import.meta.url).pathname;
const FRONTEND = "frontend-6d8f9c7b5-q2xkz";

let dir = "";
let messy = "";
let conf = "";
let pods = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-conventions-"));
  // One good Service with its pods, then what a real dump holds besides: a kind knet
  // does not read, the same Service again, and a Service the API server rejects.
  messy = join(dir, "messy.yaml");
  await writeFile(
    messy,
    `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-1
  containers: [{name: c, ports: [{containerPort: 8080}]}]
status: {podIP: 10.244.0.5, phase: Running, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: b}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.21
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: shop}
spec:
  clusterIP: 10.96.0.22
  ports: [{name: http, port: 0}]
`,
  );
  conf = join(dir, "net.conf");
  await writeFile(
    conf,
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "n",
      type: "bridge",
      ipam: { type: "host-local", ranges: [[{ subnet: "10.1.0.0/24" }]], dataDir: join(dir, "ipam") },
    }),
  );
  // Two pods whose addresses the store below hands out, in two namespaces; a third
  // reservation belongs to no pod (a leaked address).
  pods = join(dir, "pods.yaml");
  await writeFile(
    pods,
    ["a", "b"]
      .map(
        (ns, i) => `apiVersion: v1
kind: Pod
metadata: {name: p${i}, namespace: ${ns}}
spec: {nodeName: node-1, containers: [{name: c}]}
status: {podIP: 10.1.0.${i + 2}, podIPs: [{ip: 10.1.0.${i + 2}}]}
`,
      )
      .join("---\n"),
  );
  for (const id of ["c-a", "c-b", "c-leaked"]) {
    const r = await run(["ipam", "add", "--config", conf, "--container", id]);
    if (r.code !== 0) throw new Error(r.err);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("--help and knet help (every subcommand)", () => {
  const cases: [family: string, sub: string | undefined][] = [
    ["proxy", "render"],
    ["proxy", "trace"],
    ["dns", "serve"],
    ["dns", "query"],
    ["netpol", "matrix"],
    ["netpol", "explain"],
    ["netpol", "diff"],
    ["netpol", "compile"],
    ["ipam", "show"],
    ["ipam", "add"],
    ["ipam", "cluster-ip"],
    ["ipam", "node-cidrs"],
    ["cni", "add"],
    ["cni", "gc"],
    ["trace", undefined],
    ["validate", undefined],
    ["demo", undefined],
  ];
  it.each(cases)("knet %s %s --help and -h print the usage and exit 0", async (family, sub) => {
    const words = sub === undefined ? [family] : [family, sub];
    const viaHelp = await run(["help", family]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toMatch(/^Usage: knet /);
    for (const flag of ["--help", "-h"]) {
      const r = await run([...words, flag]);
      expect(r.code, `${words.join(" ")} ${flag}`).toBe(0);
      expect(r.err).toBe("");
      expect(r.out).toBe(viaHelp.out);
      if (sub !== undefined) expect(r.out).toContain(sub);
    }
    // After other flags too (even ones that would be errors).
    expect((await run([...words, "--bogus", "-h"])).code).toBe(0);
  });

  it("knet --help documents one exit-code scheme; knet help NOPE is a usage error", async () => {
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    expect(top.out).toContain("Exit status (every command):");
    expect(top.out).toMatch(/ 0 {2}success/);
    expect(top.out).toMatch(/ 1 {2}a negative answer: denied, not connected/);
    expect(top.out).toMatch(/ 2 {2}bad input or usage/);
    expect((await run(["help"])).out).toBe(top.out);
    const nope = await run(["help", "nope"]);
    expect(nope.code).toBe(2);
    expect(nope.err).toMatch(/^knet: help: unknown command 'nope': use demo, trace, /);
    expect(ExitCode).toEqual({ ok: 0, negative: 1, usage: 2, internal: 3 });
  });
});

describe("flags as kubectl users expect them", () => {
  const repeated: string[][] = [
    ["proxy", "render", "-f", DEMO, "--node", "node-a", "--node", "node-b"],
    ["proxy", "trace", "-f", DEMO, "--src", "10.0.0.1", "--src", "10.0.0.2", "--dst", "10.96.0.1:443"],
    ["trace", "-f", DEMO, "--from", "a/b", "--from", "c/d", "--to", "http://x"],
    ["netpol", "matrix", "-f", DEMO, "--ports", "80", "--ports", "81"],
    ["dns", "query", "-f", DEMO, "x", "--zone", "a.local", "--zone", "b.local"],
    ["validate", "-f", DEMO, "-o", "json", "-o", "yaml"],
    ["ipam", "show", "--config", "a", "--config", "b"],
    ["cni", "add", "--conflist", "a", "--conflist", "b"],
  ];
  it.each(repeated.map((a) => [a.slice(0, 2).join(" "), a]))(
    "%s: a repeated single-value flag is an error",
    async (_, args) => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^knet: [a-z -]+: --[a-z]+ given twice \('[^']*', '[^']*'\): give it once\n$/);
    },
  );

  it("a repeatable flag (-f) may repeat", async () => {
    expect((await run(["validate", "-f", DEMO, "-f", DEMO, "-o", "json"])).code).toBe(1); // duplicates are problems
  });

  const structured: [name: string, args: string[], code: number, key: string][] = [
    ["validate", ["validate", "-f", DEMO], 0, "valid"],
    ["trace", ["trace", "-f", DEMO, "--from", `shop/${FRONTEND}`, "--to", "http://api.shop"], 0, "connected"],
    ["netpol matrix", ["netpol", "matrix", "-f", DEMO, "--ports", "80/TCP"], 0, "allowed"],
    [
      "netpol explain",
      ["netpol", "explain", "-f", DEMO, "--from", `shop/${FRONTEND}`, "--to", "shop/db-0", "--port", "5432/TCP"],
      1,
      "allowed",
    ],
    ["dns query", ["dns", "query", "-f", DEMO, "api.shop.svc.cluster.local"], 0, "response"],
    ["ipam show", ["ipam", "show", "--config", "CONF"], 0, "rangeSets"],
    [
      "proxy trace",
      ["proxy", "trace", "-f", DEMO, "--src", "10.244.1.10", "--dst", "10.96.0.10:53", "--proto", "udp"],
      0,
      "outcome",
    ],
  ];
  it.each(structured)("%s: -o json, --json and -o yaml print the same data", async (_, args, code, key) => {
    const a = args.map((x) => (x === "CONF" ? conf : x));
    const json = await run([...a, "-o", "json"]);
    expect(json.code, json.err).toBe(code);
    const data = JSON.parse(json.out) as Record<string, unknown>;
    expect(data).toHaveProperty(key);
    const alias = await run([...a, "--json"]);
    expect(alias.out).toBe(json.out);
    const yaml = await run([...a, "-o", "yaml"]);
    expect(yaml.code).toBe(code);
    expect(parseYaml(yaml.out)).toEqual(data);
    const bogus = await run([...a, "-o", "table"]);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toMatch(/unknown output format 'table': use -o json\|yaml/);
    expect((await run([...a, "--json", "-o", "yaml"])).code).toBe(2);
  });

  it("-o wide: validate lists every object with its status; trace has no wide form", async () => {
    const r = await run(["validate", "-f", DEMO, "-o", "wide"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Service +shop +api +.*demo-cluster\.yaml document \d+ \(line \d+\) +ok$/m);
    const t = await run(["trace", "-f", DEMO, "--from", `shop/${FRONTEND}`, "--to", "http://api.shop", "-o", "wide"]);
    expect(t.code).toBe(2);
    expect(t.err).toBe("knet: trace: unknown output format 'wide': use -o json|yaml (see 'knet trace --help')\n");
  });

  it("-n NAMESPACE: names without NS/ are in it; validate fills it in and refuses another namespace", async () => {
    const trace = await run(["trace", "-f", DEMO, "-n", "shop", "--from", FRONTEND, "--to", "http://api"]);
    expect(trace.code).toBe(0);
    expect(trace.out).toContain(`connected: shop/${FRONTEND} -> api:80`);
    const explain = await run([
      "netpol",
      "explain",
      "-f",
      DEMO,
      "-n",
      "shop",
      "--from",
      FRONTEND,
      "--to",
      "db-0",
      "--port",
      "5432/TCP",
    ]);
    expect(explain.code).toBe(1);
    expect(explain.out).toContain(`shop/${FRONTEND} -> shop/db-0 TCP/5432: DENIED`);
    const dns = await run(["dns", "query", "-f", DEMO, "-n", "shop", "api"]);
    expect(dns.code).toBe(0);
    expect(dns.out).toContain(";; tried api.shop.svc.cluster.local. A: NOERROR");

    const bare = join(dir, "bare.yaml");
    await writeFile(bare, "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n");
    const v = await run(["validate", "-f", bare, "-n", "team-a", "-o", "json"]);
    expect(v.code).toBe(0);
    const mismatch = await run(["validate", "-f", DEMO, "-n", "team-a"]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(
      /^knet: the namespace from the provided object "[a-z-]+" does not match the namespace "team-a" .*: pass '-n [a-z-]+' or drop -n\n$/,
    );
  });

  // Every command where kubectl users expect -n: what it does there, and that it does it.
  const namespaced: [name: string, args: string[], code: number, check: (out: string) => void][] = [
    [
      "validate",
      ["validate", "-f", "BARE", "-n", "team-a", "-o", "yaml"],
      0,
      (out) => expect(parseYaml(out)).toMatchObject({ valid: true, counts: { Service: 1 } }),
    ],
    [
      "trace",
      ["trace", "-f", DEMO, "-n", "shop", "--from", FRONTEND, "--to", "http://api", "-o", "json"],
      0,
      (out) => expect(JSON.parse(out).client.pod).toBe(`shop/${FRONTEND}`),
    ],
    [
      "netpol matrix",
      ["netpol", "matrix", "-f", DEMO, "-n", "shop", "-o", "json"],
      0,
      (out) => {
        const m = JSON.parse(out) as { pods: string[] };
        expect(m.pods.length).toBeGreaterThan(2);
        expect(m.pods.every((p) => p.startsWith("shop/"))).toBe(true);
      },
    ],
    [
      "netpol explain",
      ["netpol", "explain", "-f", DEMO, "-n", "shop", "--from", FRONTEND, "--to", "db-0", "--port", "5432/TCP"],
      1,
      (out) => expect(out).toContain(`shop/${FRONTEND} -> shop/db-0 TCP/5432: DENIED`),
    ],
    [
      "dns query",
      ["dns", "query", "-f", DEMO, "-n", "shop", "api", "-o", "json"],
      0,
      (out) =>
        expect(JSON.parse(out)).toMatchObject({
          namespace: "shop",
          tried: [{ name: "api.shop.svc.cluster.local.", rcode: "NOERROR" }],
        }),
    ],
    [
      "ipam show",
      ["ipam", "show", "--config", "CONF", "-f", "PODS", "-n", "b", "-o", "json"],
      0,
      (out) =>
        expect(JSON.parse(out).rangeSets[0].reservations).toEqual([
          { ip: "10.1.0.3", containerId: "c-b", ifname: "eth0", pod: "b/p1" },
        ]),
    ],
  ];
  it.each(namespaced)("%s -n NS: the command works in NS", async (_, args, code, check) => {
    await writeFile(
      join(dir, "bare.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
    );
    const subst: Record<string, string> = { CONF: conf, PODS: pods, BARE: join(dir, "bare.yaml") };
    const r = await run(args.map((x) => subst[x] ?? x));
    expect(r.code, r.err).toBe(code);
    check(r.out);
    // --namespace is the long form of -n.
    const long = await run(args.map((x) => (x === "-n" ? "--namespace" : (subst[x] ?? x))));
    expect(long.out).toBe(r.out);
    // Given twice it is an error, as every single-value flag.
    const twice = await run([...args.map((x) => subst[x] ?? x), "-n", "other"]);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/--namespace given twice \('[a-z-]+', 'other'\): give it once\n$/);
  });

  it("ipam show -f PODS names each address's pod (a leaked one has none); -n without -f says why it needs it", async () => {
    const all = await run(["ipam", "show", "--config", conf, "-f", pods]);
    expect(all.code, all.err).toBe(0);
    expect(all.out).toMatch(/^ {2}10\.1\.0\.2 +c-a eth0 {2}a\/p0$/m);
    expect(all.out).toMatch(/^ {2}10\.1\.0\.3 +c-b eth0 {2}b\/p1$/m);
    expect(all.out).toMatch(/^ {2}10\.1\.0\.4 +c-leaked eth0 {2}no pod \(leaked\?\)$/m);
    const inA = await run(["ipam", "show", "--config", conf, "-f", pods, "-n", "a"]);
    expect(inA.out).toContain("(reservations of namespace a)");
    expect(inA.out).toContain("a/p0");
    expect(inA.out).not.toMatch(/b\/p1|c-leaked/);
    const noPods = await run(["ipam", "show", "--config", conf, "-n", "a"]);
    expect(noPods.code).toBe(2);
    expect(noPods.err).toMatch(
      /^knet: ipam show: -n a needs -f PODS: a host-local store records container IDs, not namespaces/,
    );
  });

  it("netpol matrix -n NS shows only NS's pods, on the ports they declare", async () => {
    const r = await run(["netpol", "matrix", "-f", DEMO, "-n", "shop", "-o", "json"]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out) as { pods: string[]; ports: string[] };
    expect(m.pods.length).toBeGreaterThan(2);
    expect(m.pods.every((p) => p.startsWith("shop/"))).toBe(true);
    expect(m.ports).not.toContain("81/TCP");
    expect(m.ports).toContain("5432/TCP");
  });
});

describe("output into a closed pipe (knet ... | head)", () => {
  it("ends quietly: no stack trace, no error line, the command's own exit code", async () => {
    const head = spawn("head", ["-c", "10"], { stdio: ["pipe", "ignore", "ignore"] });
    await new Promise((r) => head.on("spawn", r));
    const stdin = head.stdin;
    const exited = new Promise((r) => head.on("exit", r));
    let err = "";
    const errStream = { write: (t: string) => (err += t), on: () => errStream };
    const io = processIo(stdin, errStream);
    io.out("0123456789abcdef\n");
    await exited;
    // head is gone: every later write meets EPIPE.
    const code = await main(["proxy", "render", "-f", DEMO, "--node", "node-a"], io);
    for (let i = 0; i < 20; i++) io.out("more output nobody reads\n".repeat(1000));
    await new Promise((r) => setTimeout(r, 50));
    expect(code).toBe(0);
    expect(err).toBe("");
  });
});

describe("objects a command cannot use are never dropped silently", () => {
  const commands: [name: string, args: string[]][] = [
    ["proxy render", ["proxy", "render", "-f", "MESSY"]],
    ["proxy trace", ["proxy", "trace", "-f", "MESSY", "--src", "10.244.0.9", "--dst", "10.96.0.20:80"]],
    ["dns query", ["dns", "query", "-f", "MESSY", "web.shop.svc.cluster.local"]],
    ["netpol matrix", ["netpol", "matrix", "-f", "MESSY"]],
    ["trace", ["trace", "-f", "MESSY", "--from", "shop/web-1", "--to", "http://web.shop"]],
  ];
  it.each(commands)(
    "%s: each skipped object on stderr with its reason, then the hint; --strict exits 2",
    async (name, args) => {
      const a = args.map((x) => (x === "MESSY" ? messy : x));
      const r = await run(a);
      expect(r.code, r.err).toBe(0);
      // Line numbers are the loader's business (tested in @knet/k8s); here only that they are given.
      const lines = r.err
        .trimEnd()
        .replace(/\(line \d+\)/g, "(line _)")
        .split("\n");
      expect(lines[0]).toBe(
        `knet ${name}: skipped ConfigMap shop/settings (${messy} document 3 (line _)): knet ${name} does not read ConfigMap objects`,
      );
      expect(lines[1]).toBe(
        `knet ${name}: skipped Service shop/web (${messy} document 4 (line _)): duplicate: already defined in ${messy} document 1; the first one is used`,
      );
      // kube-proxy's model and the API server both refuse port 0, each in its own words.
      const broken = lines.filter((l) => l.includes("Service shop/broken"));
      expect(broken).toEqual([
        `knet ${name}: skipped Service shop/broken (${messy} document 5 (line _)): spec.ports[0].port: ${
          name.startsWith("proxy")
            ? "0 is not a port number (1-65535)"
            : "Invalid value: 0: must be between 1 and 65535, inclusive (and 1 more)"
        }`,
      ]);
      expect(lines.at(-1)).toBe(
        `knet ${name}: ${lines.length - 1} objects skipped: run 'knet validate -f ${messy}' for every problem, or add --strict to fail instead`,
      );
      const strict = await run([...a, "--strict"]);
      expect(strict.code).toBe(2);
      expect(strict.out).toBe("");
      expect(strict.err).toMatch(/cannot be used \(--strict\): run 'knet validate -f .*' for every problem\n$/);
    },
  );
});

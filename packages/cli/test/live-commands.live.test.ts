// knet's commands against a real kube-apiserver 1.20. `validate --server-side`: what
// the server rejects (its validation messages, its NodePort allocator, a version it
// does not serve) comes back as problems with field paths; nothing is stored.
// `netpol` and `trace` with --kubeconfig read what the server lists instead of files.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { type ApiServer, freePort, startApiServer } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const root = join(import.meta.dirname, "..", "..", "..");
let server: ApiServer;
let dir = "";

beforeAll(async () => {
  server = await startApiServer();
  dir = mkdtempSync(join(tmpdir(), "knet-validate-live-"));
  await server.api("POST", "/api/v1/namespaces", { metadata: { name: "shop" } });
  const taken = await server.api("POST", "/api/v1/namespaces/shop/services", {
    metadata: { name: "taken" },
    spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] },
  });
  expect(taken.status).toBe(201);
  const plain = await server.api("POST", "/api/v1/namespaces/shop/services", {
    metadata: { name: "plain" },
    spec: { ports: [{ port: 80 }] },
  });
  expect(plain.status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

async function validate(file: string, ...extra: string[]) {
  const c = capture();
  const code = await main(["validate", "--server-side", "--kubeconfig", server.kubeconfig, "-f", file, ...extra], c.io);
  return { code, out: c.out(), err: c.err() };
}

it("reports the server's own problems, with field paths, and stores nothing", async () => {
  const file = join(dir, "bad.yaml");
  writeFileSync(
    file,
    [
      "apiVersion: v1\nkind: Service\nmetadata: {name: ok, namespace: shop}\nspec: {ports: [{port: 80}]}",
      // only the server's allocator knows 30080 is taken
      "apiVersion: v1\nkind: Service\nmetadata: {name: clash, namespace: shop}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}",
      "apiVersion: v1\nkind: Service\nmetadata: {name: wide, namespace: shop}\nspec: {ports: [{port: 70000}]}",
      // 1.20 serves discovery.k8s.io/v1beta1 only
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: shop}\naddressType: IPv4\nendpoints: []",
      "apiVersion: v1\nkind: Service\nmetadata: {name: lost, namespace: nope}\nspec: {ports: [{port: 80}]}",
    ].join("\n---\n"),
  );
  const r = await validate(file);
  expect(r.code, r.err).toBe(1);
  const lines = r.out.trim().split("\n");
  expect(lines).toContainEqual(
    expect.stringMatching(
      /document 2.*Service shop\/clash: spec\.ports\[0\]\.nodePort: Invalid value: 30080: provided port is already allocated/,
    ),
  );
  expect(lines).toContainEqual(
    expect.stringMatching(
      /document 3.*Service shop\/wide: spec\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive/,
    ),
  );
  expect(lines).toContainEqual(
    expect.stringMatching(
      /document 4.*EndpointSlice shop\/s: no matches for kind "EndpointSlice" in version "discovery.k8s.io\/v1"/,
    ),
  );
  expect(lines).toContainEqual(
    expect.stringMatching(/document 5.*Service nope\/lost: NotFound: namespaces "nope" not found/),
  );
  expect(r.out).not.toMatch(/shop\/ok/);
  // dry run: nothing was created
  expect((await server.api("GET", "/api/v1/namespaces/shop/services/ok")).status).toBe(404);
});

it("passes what the server accepts (a new object, and an existing one patched), and needs --kubeconfig", async () => {
  const file = join(dir, "good.yaml");
  writeFileSync(
    file,
    "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: plain}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 9090}]}\n",
  );
  // (an existing NodePort Service patched with its own nodePort is refused by 1.20's
  // dry-run allocator, "provided port is already allocated": a 1.20 quirk, not tested)
  const r = await validate(file, "-n", "shop");
  expect(r.code, r.out + r.err).toBe(0);
  expect(r.out).toBe("Service: 2\n");
  const c = capture();
  expect(await main(["validate", "--server-side", "-f", file], c.io)).toBe(2);
  expect(c.err()).toContain("--server-side needs --kubeconfig PATH");
});

describe("netpol and trace --kubeconfig", () => {
  beforeAll(async () => {
    await server.api("POST", "/api/v1/nodes", {
      metadata: { name: "node-1" },
      spec: { podCIDR: "10.244.1.0/24" },
    });
    await server.api(
      "PATCH",
      "/api/v1/nodes/node-1/status",
      { status: { addresses: [{ type: "InternalIP", address: "192.168.49.11" }] } },
      "application/merge-patch+json",
    );
    for (const [name, app, ip] of [
      ["web", "web", "10.244.1.10"],
      ["db", "db", "10.244.1.11"],
    ] as const) {
      expect(
        (
          await server.api("POST", "/api/v1/namespaces/shop/pods", {
            metadata: { name, labels: { app } },
            spec: { nodeName: "node-1", containers: [{ name: app, image: app, ports: [{ containerPort: 5432 }] }] },
          })
        ).status,
      ).toBe(201);
      await server.api(
        "PATCH",
        `/api/v1/namespaces/shop/pods/${name}/status`,
        {
          status: {
            phase: "Running",
            podIP: ip,
            podIPs: [{ ip }],
            conditions: [{ type: "Ready", status: "True" }],
          },
        },
        "application/merge-patch+json",
      );
    }
    const np = await server.api("POST", "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies", {
      metadata: { name: "db-from-nobody" },
      spec: { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] },
    });
    expect(np.status).toBe(201);
  });

  it("netpol explain reads the live policies and pods", async () => {
    const c = capture();
    const code = await main(
      [
        "netpol",
        "explain",
        "--kubeconfig",
        server.kubeconfig,
        "--from",
        "shop/web",
        "--to",
        "shop/db",
        "--port",
        "5432/TCP",
      ],
      c.io,
    );
    expect(code, c.err()).toBe(1);
    expect(c.out()).toContain("db-from-nobody");
    const back = capture();
    expect(
      await main(
        [
          "netpol",
          "explain",
          "--kubeconfig",
          server.kubeconfig,
          "--from",
          "shop/db",
          "--to",
          "shop/web",
          "--port",
          "5432/TCP",
        ],
        back.io,
      ),
      back.err(),
    ).toBe(0);
  });

  it("trace follows a request through the live cluster, and --context must name a context", async () => {
    const c = capture();
    const code = await main(
      ["trace", "--kubeconfig", server.kubeconfig, "--from", "shop/db", "--to", "10.244.1.10:5432", "-o", "json"],
      c.io,
    );
    expect(code, c.err()).toBe(0);
    expect(JSON.parse(c.out()).connected).toBe(true);
    const bad = capture();
    expect(
      await main(
        ["trace", "--kubeconfig", server.kubeconfig, "--context", "nope", "--from", "shop/db", "--to", "x:1"],
        bad.io,
      ),
    ).toBe(2);
    expect(bad.err()).toContain('context "nope" not found (contexts: live)');
  });
});

it("dns serve --kubeconfig --ready: CoreDNS's /ready answers 200 once the first sync is done", async () => {
  const b = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--js", "--quiet"], { encoding: "utf8" });
  expect(b.status, b.stderr).toBe(0);
  const [port, ready] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [
    join(root, "packages", "cli", "bin", "knet.js"),
    "dns",
    "serve",
    "--kubeconfig",
    server.kubeconfig,
    "--listen",
    `127.0.0.1:${port}`,
    "--ready",
    `127.0.0.1:${ready}`,
  ]);
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  try {
    const t0 = Date.now();
    while (!out.includes("serving") && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
    const r = await fetch(`http://127.0.0.1:${ready}/ready`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("OK");
  } finally {
    proc.kill("SIGTERM");
  }
});

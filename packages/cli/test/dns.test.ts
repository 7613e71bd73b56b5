import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { decodeMessage, encodeQuery, RRType } from "@knet/coredns-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.5.5
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec:
  hostname: db-0
  subdomain: db
  containers: [{name: c, ports: [{containerPort: 5432}]}]
status:
  podIP: 10.244.1.7
  podIPs: [{ip: 10.244.1.7}]
  phase: Running
  conditions: [{type: Ready, status: "True"}]
`;

let dir = "";
let file = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-cli-dns-"));
  file = join(dir, "cluster.yaml");
  await writeFile(file, MANIFEST);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("knet dns", () => {
  it("query answers a ClusterIP service without a socket", async () => {
    const c = capture();
    expect(await main(["dns", "query", "-f", file, "web.shop.svc.cluster.local"], c.io)).toBe(0);
    expect(c.out()).toContain(";; status: NOERROR, flags: qr aa");
    expect(c.out()).toMatch(/web\.shop\.svc\.cluster\.local\.\t5\tIN\tA\t10\.96\.5\.5/);
  });

  it("query derives EndpointSlices from pods (headless hostname records, SRV) and honours --ttl", async () => {
    const c = capture();
    expect(
      await main(["dns", "query", "-f", file, "_pg._tcp.db.shop.svc.cluster.local", "SRV", "--ttl", "30"], c.io),
    ).toBe(0);
    expect(c.out()).toContain(
      "_pg._tcp.db.shop.svc.cluster.local.\t30\tIN\tSRV\t0 100 5432 db-0.db.shop.svc.cluster.local.",
    );
    expect(c.out()).toContain("db-0.db.shop.svc.cluster.local.\t30\tIN\tA\t10.244.1.7");
  });

  it("query --namespace walks the pod's search list", async () => {
    const c = capture();
    expect(await main(["dns", "query", "-f", file, "web", "--namespace", "shop"], c.io)).toBe(0);
    expect(c.out().split("\n").slice(0, 3)).toEqual([
      ";; a pod in namespace shop has 'search shop.svc.cluster.local svc.cluster.local cluster.local' and 'options ndots:5' in its resolv.conf:",
      ';; "web" has 0 dots, fewer than ndots:5, so each search domain (shop.svc.cluster.local svc.cluster.local cluster.local) is tried first, then the name as written',
      ";; tried web.shop.svc.cluster.local. A: NOERROR",
    ]);
    // Five dots or more: the name as written goes first (the message said "fewer than 5" for every name).
    const long = capture();
    await main(["dns", "query", "-f", file, "web.shop.svc.cluster.local", "--namespace", "shop"], long.io);
    expect(long.out().split("\n")[1]).toBe(
      ';; "web.shop.svc.cluster.local" has 4 dots, fewer than ndots:5, so each search domain (shop.svc.cluster.local svc.cluster.local cluster.local) is tried first, then the name as written',
    );
    const five = capture();
    await main(["dns", "query", "-f", file, "a.web.shop.svc.cluster.local", "--namespace", "shop"], five.io);
    expect(five.out().split("\n").slice(1, 3)).toEqual([
      ';; "a.web.shop.svc.cluster.local" has 5 dots, at least ndots:5, so it is asked as written first, then with each search domain (shop.svc.cluster.local svc.cluster.local cluster.local)',
      ";; tried a.web.shop.svc.cluster.local. A: NXDOMAIN",
    ]);
    const d = capture();
    await main(["dns", "query", "-f", file, "web.shop", "--namespace", "other"], d.io);
    expect(d.out()).toContain(";; tried web.shop.other.svc.cluster.local. A: NXDOMAIN");
    expect(d.out()).toContain(";; tried web.shop.svc.cluster.local. A: NOERROR");
  });

  it("query --pods insecure answers dashed-IP pod names", async () => {
    const c = capture();
    expect(
      await main(["dns", "query", "-f", file, "10-244-1-7.shop.pod.cluster.local", "--pods", "insecure"], c.io),
    ).toBe(0);
    expect(c.out()).toContain("10-244-1-7.shop.pod.cluster.local.\t5\tIN\tA\t10.244.1.7");
    const d = capture();
    await main(["dns", "query", "-f", file, "10-244-1-7.shop.pod.cluster.local"], d.io);
    expect(d.out()).toContain("status: NXDOMAIN");
  });

  it("query reports NXDOMAIN with the SOA, and exits 1 (a negative answer)", async () => {
    const c = capture();
    expect(await main(["dns", "query", "-f", file, "nope.shop.svc.cluster.local", "AAAA"], c.io)).toBe(1);
    expect(c.out()).toContain("status: NXDOMAIN");
    expect(c.out()).toContain("AUTHORITY SECTION");
    expect(c.out()).toMatch(
      /cluster\.local\.\t5\tIN\tSOA\tns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5/,
    );
  });

  it("usage errors exit 2 with one line", async () => {
    for (const argv of [
      ["dns"],
      ["dns", "bogus"],
      ["dns", "query", "web"],
      ["dns", "query", "-f", file, "web", "BADTYPE"],
      ["dns", "query", "-f", file, "web", "--ttl", "9999"],
      ["dns", "serve", "-f", file],
      ["dns", "serve", "-f", file, "--listen", "5353"],
      ["dns", "query", "-f", join(dir, "missing.yaml"), "web"],
    ]) {
      const c = capture();
      expect(await main(argv, c.io)).toBe(2);
      expect(c.err().trim().split("\n")).toHaveLength(1);
    }
  });

  it("serve answers on the given address until SIGTERM", async () => {
    const c = capture();
    const done = main(
      ["dns", "serve", "-f", file, "--listen", "127.0.0.1:0", "--zone", "cluster.local", "--ttl", "7"],
      c.io,
    );
    for (let i = 0; i < 100 && !c.out().includes("serving"); i++) await new Promise((r) => setTimeout(r, 20));
    const m = /udp\+tcp 127\.0\.0\.1:(\d+)/.exec(c.out());
    expect(m).not.toBeNull();
    const port = Number(m?.[1]);
    const s = createSocket("udp4");
    const reply = await new Promise<Buffer>((ok) => {
      s.on("message", (msg) => ok(msg));
      s.send(encodeQuery(1, "web.shop.svc.cluster.local.", RRType.A), port, "127.0.0.1");
    });
    s.close();
    expect(decodeMessage(reply).answer).toEqual([
      { name: "web.shop.svc.cluster.local.", type: 1, ttl: 7, address: "10.96.5.5" },
    ]);
    process.emit("SIGTERM");
    expect(await done).toBe(0);
    expect(c.out()).toContain("knet dns: stopped");
  });

  it("serve --config runs a Corefile's multicluster zone over ServiceImports from the manifests", async () => {
    const mcs = join(dir, "mcs.yaml");
    await writeFile(
      mcs,
      `${MANIFEST}---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata: {name: web, namespace: shop}
spec: {type: ClusterSetIP, ips: [10.100.0.5], ports: [{name: http, protocol: TCP, port: 80}]}
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata: {name: db, namespace: shop}
spec: {type: Headless, ports: [{name: pg, protocol: TCP, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-east
  namespace: shop
  labels: {multicluster.kubernetes.io/service-name: db, multicluster.kubernetes.io/source-cluster: east}
addressType: IPv4
endpoints: [{addresses: [10.7.0.9], hostname: db-0}]
ports: [{name: pg, protocol: TCP, port: 5432}]
`,
    );
    const corefile = join(dir, "Corefile");
    await writeFile(
      corefile,
      "cluster.local clusterset.local {\n kubernetes cluster.local clusterset.local {\n  multicluster clusterset.local\n }\n}\n",
    );
    const c = capture();
    const done = main(["dns", "serve", "-f", mcs, "--listen", "127.0.0.1:0", "--config", corefile], c.io);
    for (let i = 0; i < 100 && !c.out().includes("serving"); i++) await new Promise((r) => setTimeout(r, 20));
    const port = Number(/udp\+tcp 127\.0\.0\.1:(\d+)/.exec(c.out())?.[1]);
    const ask = (name: string) =>
      new Promise<Buffer>((ok) => {
        const s = createSocket("udp4");
        s.on("message", (msg) => {
          s.close();
          ok(msg);
        });
        s.send(encodeQuery(1, name, RRType.A), port, "127.0.0.1");
      });
    expect(decodeMessage(await ask("web.shop.svc.clusterset.local.")).answer).toEqual([
      { name: "web.shop.svc.clusterset.local.", type: 1, ttl: 5, address: "10.100.0.5" },
    ]);
    expect(decodeMessage(await ask("db-0.east.db.shop.svc.clusterset.local.")).answer).toEqual([
      { name: "db-0.east.db.shop.svc.clusterset.local.", type: 1, ttl: 5, address: "10.7.0.9" },
    ]);
    process.emit("SIGTERM");
    expect(await done).toBe(0);
  });
});

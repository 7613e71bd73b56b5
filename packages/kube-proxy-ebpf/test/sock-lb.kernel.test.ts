/**
 * Kernel tests: the BPF program in a real kernel. A private bpffs and cgroup2
 * mount under a temporary directory, one cgroup `knet-ebpf-<pid>`, one network
 * namespace `knet-ebpf-*` holding the backends (their addresses on its
 * loopback) and a backend server. Client processes run inside the cgroup and
 * the namespace and connect to service frontends; the program translates
 * them at connect()/sendmsg() time. Everything is detached, unpinned,
 * unmounted and deleted afterwards, also on failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeTracker, proxyConfig, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { describeKernel, hasCommand, isRoot, must, Netns, run } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  decodeAffinityMatch,
  decodeBackend,
  decodeMaglevTable,
  decodeRevNat,
  decodeService,
  decodeSourceRange,
  dumpLbMaps,
  EbpfEngine,
  type LbMaps,
  mapPinName,
  renderFullBatch,
  SOCK_LB_ATTACH,
  sockLbClangCommand,
} from "../src/index.js";

const tools = ["clang", "bpftool", "python3", "ip", "mount", "umount"];
const canRun = isRoot && tools.every(hasCommand);
if (process.env.CI === "true" && !canRun)
  throw new Error(`kernel test needs root and ${tools.join(", ")} (scripts/kernel-prereqs.sh installs them)`);

const TABLE = 251;
const NODE_IP = "1.1.1.1";
const CLIENT_IP = "10.0.1.5";
const BACKENDS_A = ["10.244.1.1", "10.244.1.2", "10.244.1.3", "10.244.1.4"];
const BACKENDS_B = ["10.244.2.1", "10.244.2.2", "10.244.2.3"];
const config = proxyConfig({ nodeName: "node-1", nodeIPs: [NODE_IP], clusterCIDR: "10.0.0.0/8" });

const SERVER = `
import socket, selectors, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    ip, port = spec.rsplit(":", 1)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((ip, int(port))); t.listen(512); t.setblocking(False)
    sel.register(t, selectors.EVENT_READ, ("tcp", spec))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((ip, int(port))); u.setblocking(False)
    sel.register(u, selectors.EVENT_READ, ("udp", spec))
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        kind, spec = key.data
        if kind == "tcp":
            c, _ = key.fileobj.accept()
            c.setblocking(True)
            c.sendall(spec.encode())
            c.close()
        else:
            data, addr = key.fileobj.recvfrom(100)
            key.fileobj.sendto(spec.encode(), addr)
`;

const CLIENT = `
import json, socket, sys
out = []
for r in json.load(sys.stdin):
    kind = socket.SOCK_STREAM if r["proto"] == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if r.get("src"):
        s.bind((r["src"], r.get("sport", 0)))
    try:
        if r["proto"] == "tcp":
            s.connect((r["dst"], r["dport"]))
            peer = s.getpeername()
            data = s.recv(100).decode()
            out.append({"backend": data, "peer": "%s:%d" % peer})
        else:
            s.sendto(b"x", (r["dst"], r["dport"]))
            data, addr = s.recvfrom(100)
            out.append({"backend": data.decode(), "peer": "%s:%d" % addr})
    except OSError as e:
        out.append({"error": e.strerror or str(e)})
    s.close()
print(json.dumps(out))
`;

interface ClientRequest {
  readonly proto: "tcp" | "udp";
  readonly dst: string;
  readonly dport: number;
  readonly src?: string;
  readonly sport?: number;
}

interface ClientResult {
  readonly backend?: string;
  readonly peer?: string;
  readonly error?: string;
}

/** χ² of observed counts against a uniform distribution. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

/** χ² critical values at p = 0.001 by degrees of freedom. */
const CHI2_001: Readonly<Record<number, number>> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47 };

function hexBytes(a: readonly string[]): Uint8Array {
  return Uint8Array.from(a.map((x) => Number.parseInt(x, 16)));
}

describeKernel("socket LB program in the kernel", { commands: tools }, () => {
  let dir = "";
  let mapsDir = "";
  let progsDir = "";
  let cgroupDir = "";
  let ns: Netns | undefined;
  const mounted: string[] = [];
  const attached: { attachType: string; program: string }[] = [];
  const annotations = new Map<string, Record<string, string>>();
  const engine = new EbpfEngine({
    config,
    random: seededRandom(5),
    maglevTableSize: TABLE,
    algorithmAnnotation: true,
    annotations: (k) => annotations.get(k),
  });
  const tracker = new ChangeTracker({ family: 4, nodeName: "node-1" });

  function bpftoolBatch(payload: string, pinDir: string): void {
    const file = join(dir, "batch");
    writeFileSync(file, payload.replaceAll(engineOptionsPinDir, pinDir));
    must("bpftool", ["batch", "file", file]);
    for (const line of payload.split("\n"))
      if (line.startsWith("# unlink ")) rmSync(line.slice(9).replace(engineOptionsPinDir, pinDir), { force: true });
  }
  const engineOptionsPinDir = "/sys/fs/bpf/tc/globals";

  function dumpMap(path: string): { key: Uint8Array; value: Uint8Array }[] {
    const rows = JSON.parse(must("bpftool", ["-j", "map", "dump", "pinned", path])) as {
      key: string[];
      value: string[];
    }[];
    return rows.map((r) => ({ key: hexBytes(r.key), value: hexBytes(r.value) }));
  }

  /** The kernel's LB maps (IPv4) read back and decoded. */
  function kernelMaps(pinDir: string): LbMaps {
    const p = (m: Parameters<typeof mapPinName>[0]) => join(pinDir, mapPinName(m, 4));
    const services = new Map();
    for (const r of dumpMap(p("services"))) {
      const e = decodeService(4, r.key, r.value);
      services.set(`${e.addr} ${e.port} ${e.proto} ${e.scope} ${e.slot}`, e);
    }
    const backends = new Map();
    for (const r of dumpMap(p("backends"))) {
      const e = decodeBackend(4, r.key, r.value);
      backends.set(e.id, e);
    }
    const revNat = new Map();
    for (const r of dumpMap(p("revNat"))) {
      const e = decodeRevNat(4, r.key, r.value);
      revNat.set(e.id, e);
    }
    const affinityMatch = new Map();
    for (const r of dumpMap(p("affinityMatch"))) {
      const e = decodeAffinityMatch(r.key);
      affinityMatch.set(`${e.revNat}/${e.backendId}`, e);
    }
    const sourceRanges = new Map();
    for (const r of dumpMap(p("sourceRanges"))) {
      const e = decodeSourceRange(4, r.key);
      sourceRanges.set(`${e.revNat}/${e.prefix}`, e);
    }
    const maglev = new Map<number, Uint32Array>();
    for (const r of dumpMap(p("maglev"))) {
      const id = ((r.key[0] as number) << 8) | (r.key[1] as number);
      const innerId = new DataView(r.value.buffer).getUint32(0, true);
      const rows = JSON.parse(must("bpftool", ["-j", "map", "dump", "id", String(innerId)])) as {
        key: string[];
        value: string[];
      }[];
      rows.sort((a, b) => Number.parseInt(a.key[0] as string, 16) - Number.parseInt(b.key[0] as string, 16));
      const all = decodeMaglevTable(Uint8Array.from(rows.flatMap((x) => x.value.map((v) => Number.parseInt(v, 16)))));
      maglev.set(id, all.slice(0, TABLE));
    }
    return { family: 4, services, backends, revNat, affinityMatch, sourceRanges, maglev };
  }

  /** Sync the engine to the tracker's state and apply the payload to the kernel; the kernel maps must equal the model. */
  function syncAndApply(): { full: boolean; payload: string } {
    const r = engine.sync(tracker.state());
    bpftoolBatch(r.payload, mapsDir);
    expect(dumpLbMaps(kernelMaps(mapsDir))).toEqual(dumpLbMaps(engine.maps));
    return r;
  }

  function client(requests: readonly ClientRequest[]): ClientResult[] {
    const ns0 = ns as Netns;
    const script = join(dir, "client.py");
    writeFileSync(script, CLIENT);
    const out = must(
      "sh",
      ["-c", `echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" python3 "$3"`, "sh", cgroupDir, ns0.name, script],
      JSON.stringify(requests),
      120_000,
    );
    return JSON.parse(out) as ClientResult[];
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "knetebpf"));
    try {
      const obj = join(dir, "sock_lb.o");
      const [cmd, ...args] = sockLbClangCommand({ maglev: engine.maglev, defaultAlgorithm: "random", output: obj });
      must(cmd as string, args);
      const bpffs = join(dir, "bpffs");
      mkdirSync(bpffs);
      must("mount", ["-t", "bpf", "bpf", bpffs]);
      mounted.push(bpffs);
      progsDir = join(bpffs, "progs");
      mapsDir = join(bpffs, "maps");
      mkdirSync(progsDir);
      mkdirSync(mapsDir);
      must("bpftool", ["prog", "loadall", obj, progsDir, "pinmaps", mapsDir]);
      const cg = join(dir, "cgroup");
      mkdirSync(cg);
      must("mount", ["-t", "cgroup2", "none", cg]);
      mounted.push(cg);
      cgroupDir = join(cg, `knet-ebpf-${process.pid}`);
      mkdirSync(cgroupDir);
      for (const a of SOCK_LB_ATTACH) {
        must("bpftool", ["cgroup", "attach", cgroupDir, a.attachType, "pinned", join(progsDir, a.program)]);
        attached.push(a);
      }
      ns = Netns.create("ebpf");
      for (const ip of [...BACKENDS_A, ...BACKENDS_B, CLIENT_IP, NODE_IP])
        ns.must("ip", ["addr", "add", `${ip}/32`, "dev", "lo"]);
      const server = join(dir, "server.py");
      writeFileSync(server, SERVER);
      const specs = [...BACKENDS_A.map((ip) => `${ip}:8080`), ...BACKENDS_B.map((ip) => `${ip}:9090`)];
      const child = ns.spawn("python3", [server, ...specs]);
      return new Promise<void>((resolve, reject) => {
        child.stdout?.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`backend server exited ${code}`)));
      });
    } catch (e) {
      cleanup();
      throw e;
    }
  });

  function cleanup(): void {
    for (const a of attached.splice(0))
      run("bpftool", ["cgroup", "detach", cgroupDir, a.attachType, "pinned", join(progsDir, a.program)]);
    ns?.delete();
    ns = undefined;
    if (cgroupDir !== "") run("rmdir", [cgroupDir]);
    for (const m of mounted.splice(0).reverse()) run("umount", [m]);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  }

  afterAll(() => cleanup());

  it("random: TCP connections to a ClusterIP spread over the backends; getpeername shows the service", () => {
    tracker.updateService(service({ name: "echo", clusterIP: "10.96.50.104", ports: [{ name: "http", port: 80 }] }));
    tracker.updateEndpointSlice(slice("echo", BACKENDS_A, { ports: [{ name: "http", port: 8080 }] }));
    const r = syncAndApply();
    expect(r.full).toBe(true);
    const results = client(
      Array.from({ length: 400 }, () => ({ proto: "tcp" as const, dst: "10.96.50.104", dport: 80 })),
    );
    const counts = new Map<string, number>();
    for (const res of results) {
      expect(res.error).toBeUndefined();
      expect(res.peer).toBe("10.96.50.104:80");
      counts.set(res.backend as string, (counts.get(res.backend as string) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(BACKENDS_A.map((ip) => `${ip}:8080`));
    expect(chiSquare([...counts.values()])).toBeLessThan(CHI2_001[3] as number);
    // The evaluator reaches the same backends with the same spread.
    const random = seededRandom(9);
    const model = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const o = engine.evaluate(
        { src: CLIENT_IP, dst: "10.96.50.104", dport: 80, sport: 20000 + i },
        { random, trace: false },
      ).outcome;
      expect(o.kind).toBe("dnat");
      if (o.kind === "dnat")
        model.set(`${o.backend.ip}:${o.backend.port}`, (model.get(`${o.backend.ip}:${o.backend.port}`) ?? 0) + 1);
    }
    expect([...model.keys()].sort()).toEqual([...counts.keys()].sort());
    expect(chiSquare([...model.values()])).toBeLessThan(CHI2_001[3] as number);
  });

  it("random: UDP datagrams reach every backend; recvmsg shows the service address", () => {
    tracker.updateService(
      service({ name: "dns", clusterIP: "10.96.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] }),
    );
    tracker.updateEndpointSlice(slice("dns", BACKENDS_A, { ports: [{ name: "dns", port: 8080, protocol: "UDP" }] }));
    const r = syncAndApply();
    expect(r.full).toBe(false);
    const results = client(
      Array.from({ length: 200 }, () => ({ proto: "udp" as const, dst: "10.96.0.10", dport: 53 })),
    );
    const counts = new Map<string, number>();
    for (const res of results) {
      expect(res.error).toBeUndefined();
      expect(res.peer).toBe("10.96.0.10:53");
      counts.set(res.backend as string, (counts.get(res.backend as string) ?? 0) + 1);
    }
    expect(counts.size).toBe(4);
    expect(chiSquare([...counts.values()])).toBeLessThan(CHI2_001[3] as number);
  });

  it("maglev: each 5-tuple lands on the backend the evaluator predicts (NodePort on a node address and ClusterIP)", () => {
    const np = service({
      name: "mag",
      clusterIP: "10.96.60.1",
      type: "NodePort",
      ports: [{ name: "http", port: 80, nodePort: 30781 }],
    });
    annotations.set("ns1/mag", { "service.cilium.io/lb-algorithm": "maglev" });
    tracker.updateService(np);
    tracker.updateEndpointSlice(slice("mag", BACKENDS_B, { ports: [{ name: "http", port: 9090 }] }));
    syncAndApply();
    expect(dumpLbMaps(engine.maps).filter((l) => l.startsWith("MAGLEV:"))).toHaveLength(2);
    const requests: ClientRequest[] = [];
    for (let i = 0; i < 60; i++) {
      requests.push({ proto: "tcp", dst: NODE_IP, dport: 30781, src: CLIENT_IP, sport: 41000 + i });
      requests.push({ proto: "tcp", dst: "10.96.60.1", dport: 80, src: CLIENT_IP, sport: 42000 + i });
    }
    const results = client(requests);
    const seen = new Set<string>();
    results.forEach((res, i) => {
      const req = requests[i] as ClientRequest;
      const o = engine.evaluate(
        { src: CLIENT_IP, sport: req.sport ?? 0, dst: req.dst, dport: req.dport },
        { trace: false },
      ).outcome;
      expect(o.kind).toBe("dnat");
      expect(res.error).toBeUndefined();
      if (o.kind === "dnat")
        expect(res.backend, `${req.dst}:${req.dport} from sport ${req.sport}`).toBe(
          `${o.backend.ip}:${o.backend.port}`,
        );
      expect(res.peer).toBe(`${req.dst}:${req.dport}`);
      seen.add(res.backend as string);
    });
    expect(seen.size).toBe(3);
  });

  it("incremental syncs leave the same maps as a full sync of the same state", () => {
    // Scale down, mark one endpoint terminating, add a service with affinity and source ranges, delete one.
    tracker.updateEndpointSlice(
      slice(
        "echo",
        [BACKENDS_A[0] as string, { ip: BACKENDS_A[1] as string, ready: false, serving: true, terminating: true }],
        {
          ports: [{ name: "http", port: 8080 }],
        },
      ),
    );
    tracker.updateEndpointSlice(slice("mag", BACKENDS_B.slice(0, 2), { ports: [{ name: "http", port: 9090 }] }));
    tracker.updateService(
      service({
        name: "lb",
        clusterIP: "10.96.70.1",
        type: "LoadBalancer",
        ports: [{ name: "http", port: 80, nodePort: 30999 }],
        lbIngress: ["5.6.7.8"],
        sourceRanges: ["10.0.0.0/8"],
        affinitySeconds: 60,
      }),
    );
    tracker.updateEndpointSlice(slice("lb", BACKENDS_A, { ports: [{ name: "http", port: 8080 }] }));
    tracker.deleteService("ns1", "dns");
    tracker.deleteEndpointSlice("ns1", "dns-v4");
    const r = syncAndApply();
    expect(r.full).toBe(false);
    expect(r.payload).toMatch(/map delete pinned/);
    // A fresh set of maps loaded with the full sync of the same state.
    const fresh = join(dir, "bpffs", "fresh");
    mkdirSync(fresh);
    mkdirSync(join(fresh, "progs"));
    mkdirSync(join(fresh, "maps"));
    must("bpftool", ["prog", "loadall", join(dir, "sock_lb.o"), join(fresh, "progs"), "pinmaps", join(fresh, "maps")]);
    bpftoolBatch(renderFullBatch(engine.maps), join(fresh, "maps"));
    expect(dumpLbMaps(kernelMaps(join(fresh, "maps")))).toEqual(dumpLbMaps(kernelMaps(mapsDir)));
    // The terminating backend is no longer chosen; session affinity sticks.
    const results = client(
      Array.from({ length: 40 }, () => ({ proto: "tcp" as const, dst: "10.96.50.104", dport: 80 })),
    );
    expect(new Set(results.map((x) => x.backend))).toEqual(new Set([`${BACKENDS_A[0]}:8080`]));
    const sticky = client(Array.from({ length: 30 }, () => ({ proto: "tcp" as const, dst: "10.96.70.1", dport: 80 })));
    expect(new Set(sticky.map((x) => x.backend)).size).toBe(1);
  });
});

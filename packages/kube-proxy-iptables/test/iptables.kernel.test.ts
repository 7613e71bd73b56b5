import type { EndpointSlice, Service } from "@knet/k8s";
import { buildProxyState, ChangeTracker, proxyConfig, type Random, seededRandom } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import { IptablesEngine, IptablesEvaluator, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { describeKernel, hasCommand, Netns, vethPair } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

/** A backend: a server in its own namespace answering each TCP connection with its name. */
const SERVER = `
const net = require("node:net");
const [name, ...ports] = process.argv.slice(1);
let up = 0;
for (const p of ports) {
  net.createServer((s) => { s.end(name); s.on("error", () => {}); }).listen(Number(p), "0.0.0.0", () => {
    if (++up === ports.length) console.log("ready");
  });
}`;

/** The client: N sequential connections, prints the answers (or the error code) as JSON. */
const CLIENT = `
const net = require("node:net");
const [host, port, count] = process.argv.slice(1);
const out = [];
function one(i) {
  if (i >= Number(count)) { console.log(JSON.stringify(out)); return; }
  let data = "";
  const s = net.connect({ host, port: Number(port), timeout: 2000 });
  s.on("data", (d) => { data += d; });
  s.on("end", () => { out.push(data); s.destroy(); one(i + 1); });
  s.on("timeout", () => { out.push("ERR:TIMEOUT"); s.destroy(); one(i + 1); });
  s.on("error", (e) => { out.push("ERR:" + e.code); one(i + 1); });
}
one(0);`;

interface SvcPlan {
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: "TCP" | "UDP";
  readonly nodePort?: number;
  readonly backends: readonly number[]; // backend indexes
}

const BACKENDS = 5;
const backendIP = (k: number): string => `10.1.${k}.2`;
const NODE_IP = "10.0.1.1";
const CLIENT_IP = "10.0.1.2";

function plan(random: Random): SvcPlan[] {
  const out: SvcPlan[] = [];
  for (let i = 0; i < 8; i++) {
    const n = i === 0 ? 0 : 1 + Math.floor(random.next() * BACKENDS);
    const pool = [0, 1, 2, 3, 4].sort(() => random.next() - 0.5);
    const udp = i >= 6;
    out.push({
      name: `svc${i}`,
      clusterIP: `172.30.0.${10 + i}`,
      port: 80 + i,
      protocol: udp ? "UDP" : "TCP",
      ...(random.next() < 0.5 || i === 2 ? { nodePort: 30000 + i } : {}),
      backends: pool.slice(0, n).sort(),
    });
  }
  return out;
}

function objects(p: readonly SvcPlan[]): { services: Service[]; endpointSlices: EndpointSlice[] } {
  return {
    services: p.map((s) =>
      service({
        name: s.name,
        clusterIP: s.clusterIP,
        type: s.nodePort ? "NodePort" : "ClusterIP",
        ports: [{ name: "p", port: s.port, protocol: s.protocol, ...(s.nodePort ? { nodePort: s.nodePort } : {}) }],
      }),
    ),
    endpointSlices: p
      .filter((s) => s.backends.length > 0)
      .map((s) =>
        slice(
          s.name,
          s.backends.map((k) => backendIP(k)),
          { ports: [{ name: "p", port: 8000 + s.port, protocol: s.protocol }] },
        ),
      ),
  };
}

/** Two-sample chi-square statistic of homogeneity over the same categories. */
function chiSquare(a: Map<string, number>, b: Map<string, number>): { stat: number; df: number } {
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const na = [...a.values()].reduce((x, y) => x + y, 0);
  const nb = [...b.values()].reduce((x, y) => x + y, 0);
  let stat = 0;
  for (const k of keys) {
    const x = a.get(k) ?? 0;
    const y = b.get(k) ?? 0;
    const tot = x + y;
    const ea = (tot * na) / (na + nb);
    const eb = (tot * nb) / (na + nb);
    if (ea > 0) stat += (x - ea) ** 2 / ea;
    if (eb > 0) stat += (y - eb) ** 2 / eb;
  }
  return { stat, df: keys.length - 1 };
}
// chi-square critical values at alpha = 0.001
const CRIT: Readonly<Record<number, number>> = { 0: 0, 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47 };

const count = (xs: readonly string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

describeKernel("iptables mode in a real kernel", { commands: ["ip", "iptables-restore", "ip6tables-restore"] }, () => {
  const made: Netns[] = [];
  let node: Netns;
  let client: Netns;
  const services = plan(seededRandom(20240601));
  const config = proxyConfig({ nodeName: "node-1", nodeIPs: [NODE_IP], clusterCIDR: "10.0.0.0/8" });
  const engine = new IptablesEngine({ config, random: seededRandom(5) });
  const sync = engine.sync(buildProxyState(config, objects(services)));

  beforeAll(() => {
    node = Netns.create("kpn");
    client = Netns.create("kpc");
    made.push(node, client);
    node.must("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    // REJECT answers with ICMP; the per-peer ICMP rate limit would stretch each refused connect to ~1 s
    node.must("sysctl", ["-qw", "net.ipv4.icmp_ratelimit=0"]);
    const [nc, cn] = vethPair(node, client);
    node.must("ip", ["addr", "add", `${NODE_IP}/24`, "dev", nc]);
    client.must("ip", ["addr", "add", `${CLIENT_IP}/24`, "dev", cn]);
    client.must("ip", ["route", "add", "default", "via", NODE_IP]);
    for (let k = 0; k < BACKENDS; k++) {
      const b = Netns.create(`kpb${k}`);
      made.push(b);
      const [nb, bn] = vethPair(node, b);
      node.must("ip", ["addr", "add", `10.1.${k}.1/24`, "dev", nb]);
      b.must("ip", ["addr", "add", `${backendIP(k)}/24`, "dev", bn]);
      b.must("ip", ["route", "add", "default", "via", `10.1.${k}.1`]);
      const ports = services
        .filter((s) => s.protocol === "TCP" && s.backends.includes(k))
        .map((s) => String(8000 + s.port));
      if (ports.length === 0) continue;
      b.spawn("node", ["-e", SERVER, `B${k}`, ...ports]);
      // wait until the last port accepts connections
      let up = false;
      for (let t = 0; t < 200 && !up; t++) {
        up = b.run("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${ports[ports.length - 1]}`]).code === 0;
        if (!up) b.run("sleep", ["0.05"]);
      }
      if (!up) throw new Error(`backend B${k} did not start`);
    }
    // a default route, as every node has, so packets to service IPs nobody DNATs reach FORWARD
    // (B0 does not forward, so a packet the rules let through would time out, not be refused)
    node.must("ip", ["route", "add", "default", "via", backendIP(0)]);
    node.must("iptables-restore", ["--noflush"], engine.renderBootstrap());
    node.must("iptables-restore", ["--noflush"], sync.payload);
  });

  afterAll(() => {
    for (const ns of made) ns.delete();
  });

  it("the payload passes iptables-restore --test in a fresh namespace", () => {
    const t = Netns.create("kpt");
    made.push(t);
    const r = t.run("iptables-restore", ["--test", "--noflush"], sync.payload);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(sync.payload).toContain("KUBE-SVC-");
  });

  it("payloads for 20 more random service sets (and an IPv6 one) pass iptables-restore --test", () => {
    const t = Netns.create("kpr");
    made.push(t);
    for (let seed = 1; seed <= 20; seed++) {
      const e = new IptablesEngine({ config, random: seededRandom(seed) });
      const payload = e.sync(buildProxyState(config, objects(plan(seededRandom(seed))))).payload;
      const r = t.run("iptables-restore", ["--test", "--noflush"], payload);
      expect(r.stderr, `seed ${seed}`).toBe("");
      expect(r.code).toBe(0);
    }
    if (hasCommand("ip6tables-restore")) {
      const cfg6 = proxyConfig({ family: 6, nodeName: "node-1", nodeIPs: ["fd00::1"], clusterCIDR: "fd00:10::/64" });
      const e6 = new IptablesEngine({ config: cfg6 });
      const p6 = e6.sync(
        buildProxyState(cfg6, {
          services: [
            service({
              name: "v6",
              clusterIP: "fd00:30::1",
              type: "NodePort",
              ports: [{ name: "p", port: 80, nodePort: 30080 }],
            }),
            service({ name: "none6", clusterIP: "fd00:30::2" }),
          ],
          endpointSlices: [slice("v6", ["fd00:10::5", "fd00:10::6"], { ports: [{ name: "p", port: 8080 }] })],
        }),
      ).payload;
      expect(p6).toContain("--to-destination [fd00:10::5]:8080");
      const r = t.run("ip6tables-restore", ["--test", "--noflush"], p6);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
  });

  it("real TCP connections to every ClusterIP and NodePort land on that service's backends; no endpoints → refused", () => {
    const tcp = services.filter((s) => s.protocol === "TCP");
    expect(tcp.some((s) => s.backends.length === 0)).toBe(true);
    for (const s of tcp) {
      const targets: [string, number][] = [[s.clusterIP, s.port]];
      if (s.nodePort) targets.push([NODE_IP, s.nodePort]);
      for (const [host, port] of targets) {
        const got = JSON.parse(client.must("node", ["-e", CLIENT, host, String(port), "12"])) as string[];
        const allowed = s.backends.map((k) => `B${k}`);
        if (allowed.length === 0) {
          expect(new Set(got), `${s.name} ${host}:${port}`).toEqual(new Set(["ERR:ECONNREFUSED"]));
          const v = engine.evaluate({ src: CLIENT_IP, dst: host, dport: port });
          expect(v.outcome.kind).toBe("reject");
        } else {
          for (const g of got) expect(allowed, `${s.name} ${host}:${port} answered ${g}`).toContain(g);
          // the evaluator's verdict is one the kernel could give: a backend of the same set
          const want = new Set(s.backends.map((k) => `${backendIP(k)}:${8000 + s.port}`));
          for (let i = 0; i < 20; i++) {
            const v = engine.evaluate(
              { src: CLIENT_IP, dst: host, dport: port, sport: 20000 + i },
              { trace: false },
            ).outcome;
            expect(v.kind).toBe("dnat");
            if (v.kind === "dnat") expect(want.has(`${v.backend.ip}:${v.backend.port}`)).toBe(true);
          }
        }
      }
    }
  });

  it("the evaluator reads the kernel's own iptables-save and gives the same verdicts", () => {
    const dump = node.must("iptables-save", []);
    const ev = new IptablesEvaluator(parseIptablesSave(dump), {
      localAddresses: [NODE_IP, ...services.map(() => NODE_IP)],
    });
    for (const s of services) {
      const v = ev.evaluate({ src: CLIENT_IP, dst: s.clusterIP, dport: s.port, protocol: s.protocol.toLowerCase() });
      if (s.backends.length === 0) expect(v.verdict).toBe("reject");
      else {
        expect(v.verdict).toBe("accept");
        expect(s.backends.map(backendIP)).toContain(v.dnat?.addr.toString());
      }
    }
  });

  it("the kernel's and the evaluator's backend distributions agree (chi-square, alpha 0.001)", () => {
    const s = services.filter((x) => x.protocol === "TCP").sort((a, b) => b.backends.length - a.backends.length)[0];
    if (!s) throw new Error("no TCP service");
    expect(s.backends.length).toBeGreaterThanOrEqual(2);
    const N = 300;
    const kernel = JSON.parse(client.must("node", ["-e", CLIENT, s.clusterIP, String(s.port), String(N)])) as string[];
    expect(kernel.filter((x) => x.startsWith("ERR"))).toEqual([]);
    const rnd = seededRandom(99);
    const sim: string[] = [];
    for (let i = 0; i < N; i++) {
      const v = engine.evaluate(
        { src: CLIENT_IP, dst: s.clusterIP, dport: s.port, sport: 10000 + i },
        { random: rnd, trace: false },
      );
      if (v.outcome.kind === "dnat")
        sim.push(`B${s.backends[s.backends.map(backendIP).indexOf(v.outcome.backend.ip)]}`);
    }
    const { stat, df } = chiSquare(count(kernel), count(sim));
    expect(df).toBe(s.backends.length - 1);
    expect(stat).toBeLessThan(CRIT[df] ?? 0);
    // and both cover every backend
    expect(new Set(kernel).size).toBe(s.backends.length);
  });

  it("partial sync among 1,000 services: only the changed service's chains, same ruleset as a full sync", () => {
    const tracker = new ChangeTracker({ family: 4, nodeName: "node-1" });
    for (let i = 0; i < 1000; i++) {
      const name = `s${i}`;
      tracker.updateService(service({ name, clusterIP: `172.31.${i >> 8}.${i & 255}` }));
      tracker.updateEndpointSlice(slice(name, [`10.2.${i >> 8}.${i & 255}`, `10.3.${i >> 8}.${i & 255}`]));
    }
    const a = new IptablesEngine({ config });
    const full = a.sync(tracker.state());
    tracker.updateEndpointSlice(slice("s500", ["10.2.1.244", "10.9.9.9"]));
    const newState = tracker.state();
    const partial = a.sync(newState);
    expect(partial.full).toBe(false);
    expect(partial.servicePortsWritten).toBe(1);
    // only s500's chains are declared besides the fixed ones
    const declared = partial.payload
      .split("\n")
      .filter((l) => /^:KUBE-(SVC|SEP|EXT|FW|SVL)-/.test(l))
      .map((l) => l.slice(1, l.indexOf(" ")));
    const s500 = full.payload
      .split("\n")
      .filter((l) => l.includes("ns1/s500:p80") && l.startsWith("-A KUBE-SVC"))
      .map((l) => l.split(" ")[1] as string);
    expect(declared.length).toBe(4); // SVC, 2 SEP (one new, one kept), 1 stale SEP
    expect(declared).toContain(s500[0]);
    expect(partial.payload.split("\n").filter((l) => l.startsWith("-X "))).toHaveLength(1);
    const ruleOwners = new Set(
      partial.payload
        .split("\n")
        .filter((l) => /^-A KUBE-(SVC|SEP|EXT|FW|SVL)-/.test(l))
        .map((l) => l.split(" ")[1]),
    );
    for (const c of ruleOwners) expect(declared).toContain(c);

    const nsA = Netns.create("kpa");
    const nsB = Netns.create("kpf");
    made.push(nsA, nsB);
    nsA.must("iptables-restore", ["--noflush"], a.renderBootstrap());
    nsA.must("iptables-restore", ["--noflush"], full.payload, 60_000);
    nsA.must("iptables-restore", ["--noflush"], partial.payload, 60_000);
    const b = new IptablesEngine({ config });
    nsB.must("iptables-restore", ["--noflush"], b.renderBootstrap());
    nsB.must("iptables-restore", ["--noflush"], b.sync(newState).payload, 60_000);
    const norm = (dump: string): string[] => {
      const lines = dump.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
      // chain declarations as a set (order of creation differs), rules in order per chain
      return [...lines.filter((l) => l.startsWith(":")).sort(), ...lines.filter((l) => !l.startsWith(":"))];
    };
    const dumpA = norm(nsA.must("iptables-save", []));
    const dumpB = norm(nsB.must("iptables-save", []));
    expect(dumpA.length).toBeGreaterThan(5000);
    expect(dumpA).toEqual(dumpB);
  });
});

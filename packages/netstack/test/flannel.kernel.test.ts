// A flannel-like two-node topology (pod -> cni0 -> node -> vxlan -> node ->
// cni0 -> pod, veth underlay) realized in real namespaces: a real TCP
// connection between the pods succeeds exactly when the simulator's
// handshake (SYN, SYN-ACK, ACK) is delivered, across working and broken variants.
import { type ChildProcess, spawn } from "node:child_process";
import {
  Addr,
  buildTopology,
  type Dataplane,
  flannelTopology,
  HookPriority,
  makePacket,
  type Realized,
  realize,
  type Topology,
} from "@knet/netstack";
import { describeKernel, run } from "@knet/testkit";
import { afterAll, expect, it } from "vitest";

interface Variant {
  readonly name: string;
  readonly topology: Topology;
  /** Where the client connects (default the pod, 10.244.2.2:8080). */
  readonly target?: { readonly addr: string; readonly port: number };
  /** Rules for the real kernel (iptables), run after the topology is up. */
  readonly kernel?: (r: Realized) => string[][];
  /** The same rules as hook functions for the simulator. */
  readonly sim?: (dp: Dataplane) => void;
}

const ipt = (r: Realized, ns: string, ...args: string[]): string[] => [
  "ip",
  "netns",
  "exec",
  r.nsName(ns),
  "iptables",
  "-w",
  ...args,
];

const base = flannelTopology();
const withNs = (t: Topology, ns: string, sysctls: Record<string, number>): Topology => ({
  ...t,
  namespaces: t.namespaces.map((n) => (n.name === ns ? { ...n, sysctls: { ...n.sysctls, ...sysctls } } : n)),
});
const mapLinks = (
  t: Topology,
  f: (l: NonNullable<Topology["links"]>[number]) => NonNullable<Topology["links"]>[number],
): Topology => ({
  ...t,
  links: (t.links ?? []).map(f),
});

const VARIANTS: Variant[] = [
  { name: "as flannel sets it up", topology: base },
  { name: "VXLAN on the IANA port 4789", topology: flannelTopology({ dstport: 4789 }) },
  { name: "1400-byte underlay (1350 overlay)", topology: flannelTopology({ underlayMtu: 1400 }) },
  {
    name: "strict rp_filter on both nodes",
    topology: withNs(withNs(base, "node1", { "net.ipv4.conf.all.rp_filter": 1 }), "node2", {
      "net.ipv4.conf.all.rp_filter": 1,
    }),
  },
  { name: "node2 does not forward", topology: withNs(base, "node2", { "net.ipv4.ip_forward": 0 }) },
  {
    name: "node1 lacks the FDB entry of node2's VTEP",
    topology: { ...base, vteps: (base.vteps ?? []).filter((v) => v.ns !== "node1") },
  },
  {
    name: "VNI differs between the nodes",
    topology: mapLinks(base, (l) => (l.kind === "vxlan" && l.ns === "node2" ? { ...l, vni: 2 } : l)),
  },
  {
    name: "UDP port differs between the nodes",
    topology: mapLinks(base, (l) => (l.kind === "vxlan" && l.ns === "node2" ? { ...l, dstport: 4789 } : l)),
  },
  {
    name: "pod2 has no default route",
    topology: { ...base, routes: (base.routes ?? []).filter((r) => r.ns !== "pod2a") },
  },
  {
    name: "node1's neighbour entry points at a MAC no VTEP has",
    topology: {
      ...base,
      neighbours: (base.neighbours ?? []).map((n) => (n.ns === "node1" ? { ...n, mac: "0e:00:00:00:00:09" } : n)),
      vteps: (base.vteps ?? []).map((v) => (v.ns === "node1" ? { ...v, mac: "0e:00:00:00:00:09" } : v)),
    },
  },
  {
    name: "iptables FORWARD drop of tcp/8080 on node2 (a hook in the simulator)",
    topology: base,
    kernel: (r) => [ipt(r, "node2", "-A", "FORWARD", "-p", "tcp", "--dport", "8080", "-j", "DROP")],
    sim: (dp) => {
      dp.ns("node2").registerHook({
        hook: "forward",
        priority: HookPriority.filter,
        owner: "iptables",
        fn: (p) => (p.proto === "tcp" && p.dport === 8080 ? "drop" : "accept"),
      });
    },
  },
  {
    name: "a service IP DNATed on node1 to the pod on node2",
    topology: base,
    target: { addr: "10.96.0.10", port: 80 },
    kernel: (r) => [
      ipt(
        r,
        "node1",
        "-t",
        "nat",
        "-A",
        "PREROUTING",
        "-d",
        "10.96.0.10/32",
        "-p",
        "tcp",
        "--dport",
        "80",
        "-j",
        "DNAT",
        "--to-destination",
        "10.244.2.2:8080",
      ),
    ],
    sim: (dp) => {
      const vip = Addr.parse("10.96.0.10");
      dp.ns("node1").registerHook({
        hook: "prerouting",
        priority: HookPriority.dstnat,
        owner: "iptables",
        type: "nat",
        fn: (p) =>
          p.proto === "tcp" && p.dst.equals(vip) && p.dport === 80
            ? { verdict: "accept", dnat: { addr: Addr.parse("10.244.2.2"), port: 8080 } }
            : "continue",
      });
    },
  },
  {
    name: "a service IP with no DNAT anywhere",
    topology: base,
    target: { addr: "10.96.0.10", port: 80 },
  },
  {
    name: "node1 masquerades what leaves on flannel.1",
    topology: base,
    kernel: (r) => [ipt(r, "node1", "-t", "nat", "-A", "POSTROUTING", "-o", "flannel.1", "-j", "MASQUERADE")],
    sim: (dp) => {
      dp.ns("node1").registerHook({
        hook: "postrouting",
        priority: HookPriority.srcnat,
        owner: "iptables",
        type: "nat",
        fn: (_p, ctx) => (ctx.outDev === "flannel.1" ? { verdict: "accept", masquerade: true } : "continue"),
      });
    },
  },
  {
    name: "node1 has no route to node2's pod CIDR",
    topology: { ...base, routes: (base.routes ?? []).filter((r) => !(r.ns === "node1" && r.dst === "10.244.2.0/24")) },
  },
];

/** The `proto src= dst= sport= dport= src= dst= sport= dport=` part of each `conntrack -L` line. */
function tuples(list: string): string[] {
  return (
    list
      .split("\n")
      // IGMP and other protocols the kernel tracks on its own (multicast joins) are not modelled.
      .filter((l) => /^(tcp|udp|icmp|sctp)\s/.test(l))
      .map((l) => {
        const parts = [...l.matchAll(/src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/g)].map((m) => m.slice(1).join(" "));
        const t = `${l.split(/\s+/)[0]} ${parts.join(" | ")}`;
        // The VXLAN source port is a hash of the inner flow; the kernel's differs from ours.
        return t.startsWith("udp")
          ? t.replace(/ \d+ (4789|8472)\b/g, " * $1").replace(/\b(4789|8472) \d+/g, "$1 *")
          : t;
      })
      .sort()
  );
}

let conntrackChecked = 0;
const children = new Set<ChildProcess>();
const cleanup: string[][] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const c of cleanup) run(c[0] as string, c.slice(1));
});

function listening(ns: string, port: number): boolean {
  return run("ip", ["netns", "exec", ns, "ss", "-Hltn", `sport = :${port}`]).stdout.includes(`:${port}`);
}

describeKernel("flannel-like VXLAN: real TCP connect == simulator", { commands: ["ip", "socat"] }, () => {
  const results: { name: string; sim: boolean; kernel: boolean }[] = [];
  VARIANTS.forEach((v, i) => {
    it(v.name, async () => {
      const dp = buildTopology(v.topology);
      v.sim?.(dp);
      dp.ns("pod2a").listen({ proto: "tcp", port: 8080 });
      const target = v.target ?? { addr: "10.244.2.2", port: 8080 };
      const x = dp.exchange("pod1a", makePacket({ dst: target.addr, dport: target.port, sport: 43210 }));
      const real = realize(v.topology, { prefix: `knet-fl${process.pid % 10000}v${i}-` });
      cleanup.push(...real.teardown.map((c) => [...c]));
      let server: ChildProcess | undefined;
      try {
        for (const cmd of real.setup) {
          const r = run(cmd[0] as string, cmd.slice(1));
          expect(r.code, `${cmd.join(" ")}: ${r.stderr}`).toBe(0);
        }
        for (const cmd of v.kernel?.(real) ?? []) {
          const r = run(cmd[0] as string, cmd.slice(1));
          expect(r.code, `${cmd.join(" ")}: ${r.stderr}`).toBe(0);
        }
        const pod2 = real.nsName("pod2a");
        server = spawn("ip", ["netns", "exec", pod2, "socat", "TCP-LISTEN:8080,reuseaddr,fork", "OPEN:/dev/null"], {
          stdio: "ignore",
        });
        children.add(server);
        for (let k = 0; k < 50 && !listening(pod2, 8080); k++) await new Promise((r) => setTimeout(r, 50));
        expect(listening(pod2, 8080)).toBe(true);
        const c = run(
          "ip",
          [
            "netns",
            "exec",
            real.nsName("pod1a"),
            "socat",
            "-u",
            "OPEN:/dev/null",
            `TCP:${target.addr}:${target.port},connect-timeout=2,sourceport=43210`,
          ],
          undefined,
          10_000,
        );
        const kernel = c.code === 0;
        results.push({ name: v.name, sim: x.ok, kernel });
        const why = x.ok ? "" : (x.reply ?? x.request).outcome;
        expect(x.ok, `simulator ${JSON.stringify(why)}; kernel socat exit ${c.code} ${c.stderr.trim()}`).toBe(kernel);
        if (v.kernel && kernel) {
          // Where rules made node1 track connections, its `conntrack -L` tuples equal ours.
          const ct = run("ip", ["netns", "exec", real.nsName("node1"), "conntrack", "-L"]);
          const kernelTuples = tuples(ct.stdout);
          const simTuples = tuples(dp.ns("node1").conntrack.list());
          if (v.name.includes("node1")) {
            // The TCP connection and the two one-way VXLAN UDP flows.
            expect(kernelTuples.length, ct.stdout + ct.stderr).toBe(3);
            conntrackChecked++;
          }
          expect(simTuples, `kernel: ${ct.stdout}`).toEqual(kernelTuples);
        }
      } finally {
        if (server && server.exitCode === null) server.kill("SIGKILL");
        for (const cmd of real.teardown) run(cmd[0] as string, cmd.slice(1));
      }
    });
  });
  it("covered both outcomes", () => {
    console.log(`flannel variants: ${results.map((r) => `${r.name}=${r.kernel ? "connects" : "fails"}`).join("; ")}`);
    expect(results.length).toBe(VARIANTS.length);
    expect(results.filter((r) => r.kernel).length).toBeGreaterThanOrEqual(5);
    expect(results.filter((r) => !r.kernel).length).toBeGreaterThanOrEqual(7);
    expect(conntrackChecked).toBe(2); // the DNAT and the MASQUERADE variants
  });
});

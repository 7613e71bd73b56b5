// Differential test of forwarding: random topologies with random ip_forward and
// rp_filter, realized for real; for many (namespace, destination) pairs a real
// `ping -c1` succeeds exactly when the simulator's echo request and reply are
// both delivered (routing, ARP, forwarding, rp_filter and the way back).
import { buildTopology, makePacket, realize, seededRandom, type Topology } from "@knet/netstack";
import { describeKernel, run } from "@knet/testkit";
import { afterAll, expect, it } from "vitest";
import { randomTopology } from "./random-topology.js";

const SEEDS = [5, 8, 13, 21, 34, 55, 89, 144];
const cleanup: string[][] = [];
afterAll(() => {
  for (const c of cleanup) run(c[0] as string, c.slice(1));
});

function withSysctls(t: Topology, seed: number): Topology {
  const rnd = seededRandom(seed * 7919);
  return {
    ...t,
    namespaces: t.namespaces.map((n) => {
      const rp = rnd.next() < 0.3 ? (rnd.next() < 0.5 ? 1 : 2) : 0;
      return {
        ...n,
        sysctls: {
          "net.ipv4.ip_forward": rnd.next() < 0.75 ? 1 : 0,
          ...(rp !== 0 ? { "net.ipv4.conf.all.rp_filter": rp } : {}),
        },
      };
    }),
  };
}

describeKernel("ping: simulator vs kernel on random topologies", { commands: ["ip", "ping"] }, () => {
  const tally = { both: 0, neither: 0 };
  for (const seed of SEEDS) {
    it(`seed ${seed}`, () => {
      const topology = withSysctls(randomTopology(seed).topology, seed);
      const dp = buildTopology(topology);
      const rnd = seededRandom(seed);
      const addrs = dp.namespaces().flatMap((n) =>
        n
          .addresses()
          .filter((a) => a.dev !== "lo" && a.ifa.addr.family === 4)
          .map((a) => ({ ns: n.name, addr: a.ifa.addr.toString() })),
      );
      const pairs: { from: string; to: string }[] = [];
      for (const n of dp.namespaces()) {
        for (const a of addrs) if (a.ns !== n.name && rnd.next() < 0.6) pairs.push({ from: n.name, to: a.addr });
      }
      const real = realize(topology, { prefix: `knet-pg${process.pid % 10000}s${seed}-` });
      cleanup.push(...real.teardown.map((c) => [...c]));
      try {
        for (const cmd of real.setup) {
          const r = run(cmd[0] as string, cmd.slice(1));
          expect(r.code, `${cmd.join(" ")}: ${r.stderr}`).toBe(0);
        }
        const script = pairs
          .map(
            (p, i) =>
              `(ip netns exec ${real.nsName(p.from)} ping -n -c1 -W1 ${p.to} >/dev/null 2>&1; echo "${i} $?") &`,
          )
          .join("\n");
        const out = run("sh", ["-c", `${script}\nwait`], undefined, 60_000).stdout;
        const kernel = new Map<number, boolean>();
        for (const line of out.trim().split("\n")) {
          const [i, rc] = line.split(" ");
          kernel.set(Number(i), rc === "0");
        }
        const mismatches: string[] = [];
        pairs.forEach((p, i) => {
          const x = dp.exchange(p.from, makePacket({ dst: p.to, proto: "icmp", sport: 100 + i }));
          const k = kernel.get(i);
          if (k === undefined) throw new Error(`no kernel result for ${p.from} -> ${p.to}`);
          if (k !== x.ok) {
            const o = (x.reply ?? x.request).outcome;
            mismatches.push(`${p.from} -> ${p.to}: kernel ${k ? "replied" : "no reply"}, sim ${JSON.stringify(o)}`);
          } else if (k) tally.both++;
          else tally.neither++;
        });
        expect(mismatches, real.setup.map((c) => c.join(" ")).join("\n")).toEqual([]);
      } finally {
        for (const c of real.teardown) run(c[0] as string, c.slice(1));
      }
    });
  }
  it("saw both outcomes", () => {
    console.log(`ping: ${tally.both} pairs answered in both, ${tally.neither} in neither`);
    expect(tally.both).toBeGreaterThan(20);
    expect(tally.neither).toBeGreaterThan(20);
  });
});

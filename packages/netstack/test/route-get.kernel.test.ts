// Differential test: random topologies realized in real namespaces; for every
// namespace and hundreds of destinations, the simulator's route decision must
// equal `ip -n NS route get ADDR` (type, device, gateway, source, or the error).
import { buildTopology, realize, type Topology } from "@knet/netstack";
import { describeKernel, run } from "@knet/testkit";
import { afterAll, expect, it } from "vitest";
import { randomTopology } from "./random-topology.js";

interface Decision {
  readonly kind: string;
  readonly dev?: string;
  readonly via?: string;
  readonly src?: string;
}

const ERRORS: Record<string, string> = {
  "Network is unreachable": "ENETUNREACH",
  "No route to host": "EHOSTUNREACH",
  "Permission denied": "EACCES",
  "Invalid argument": "EINVAL",
};

/** `ip -j -n NS -force -batch -` with one `route get` per destination. */
function kernelRouteGet(ns: string, dsts: readonly string[]): Decision[] {
  const r = run("ip", ["-j", "-n", ns, "-force", "-batch", "-"], dsts.map((d) => `route get ${d}`).join("\n"));
  const failed = new Map<number, string>();
  const errLines = r.stderr.split("\n");
  for (let i = 0; i < errLines.length; i++) {
    const m = /^Command failed -:(\d+)/.exec(errLines[i] ?? "");
    if (!m) continue;
    const msg = (errLines[i - 1] ?? "").replace(/^RTNETLINK answers: /, "").trim();
    failed.set(Number(m[1]) - 1, ERRORS[msg] ?? `?${msg}`);
  }
  const outs = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("["))
    .map((l) => JSON.parse(l)[0] as { type?: string; dev?: string; gateway?: string; prefsrc?: string });
  let k = 0;
  return dsts.map((_, i) => {
    const err = failed.get(i);
    if (err !== undefined) return { kind: err };
    const o = outs[k++];
    if (!o) return { kind: "?missing" };
    return {
      kind: o.type ?? "unicast",
      ...(o.dev !== undefined ? { dev: o.dev } : {}),
      ...(o.gateway !== undefined ? { via: o.gateway } : {}),
      ...(o.prefsrc !== undefined ? { src: o.prefsrc } : {}),
    };
  });
}

const SEEDS = [11, 23, 37, 41, 59, 73, 89, 97, 101, 131, 151, 173];
const made: string[][] = [];

afterAll(() => {
  for (const c of made) run(c[0] as string, c.slice(1));
});

describeKernel("route get: simulator vs kernel on random topologies", { commands: ["ip"] }, () => {
  let total = 0;
  let routes = 0;
  const kinds = new Map<string, number>();
  for (const seed of SEEDS) {
    it(`seed ${seed}`, () => {
      const { topology, destinations } = randomTopology(seed);
      const dp = buildTopology(topology);
      const real = realize(topology, { prefix: `knet-rg${process.pid % 10000}s${seed}-` });
      made.push(...real.teardown.map((c) => [...c]));
      try {
        for (const cmd of real.setup) {
          const r = run(cmd[0] as string, cmd.slice(1));
          expect(r.code, `${cmd.join(" ")}: ${r.stderr}`).toBe(0);
        }
        let compared = 0;
        const mismatches: string[] = [];
        for (const ns of topology.namespaces) {
          const dsts = destinations.get(ns.name) ?? [];
          const kernel = kernelRouteGet(real.nsName(ns.name), dsts);
          dsts.forEach((d, i) => {
            const g = dp.ns(ns.name).routeGet(d);
            const sim: Decision =
              g.kind === "error"
                ? { kind: g.errno }
                : {
                    kind: g.kind,
                    dev: g.dev,
                    ...(g.via ? { via: g.via.toString() } : {}),
                    ...(g.src ? { src: g.src.toString() } : {}),
                  };
            compared++;
            const k = kernel[i];
            const label = k?.via ? `${k.kind}+via` : (k?.kind ?? "?");
            kinds.set(label, (kinds.get(label) ?? 0) + 1);
            if (JSON.stringify(sim) !== JSON.stringify(k)) {
              mismatches.push(`${ns.name} ${d}: sim ${JSON.stringify(sim)} kernel ${JSON.stringify(k)}`);
            }
          });
        }
        total += compared;
        routes += topology.routes?.length ?? 0;
        expect(mismatches.slice(0, 20), `routes:\n${real.setup.map((c) => c.join(" ")).join("\n")}`).toEqual([]);
        expect(compared).toBeGreaterThan(150);
      } finally {
        for (const c of real.teardown) run(c[0] as string, c.slice(1));
      }
    });
  }
  it("compared hundreds of destinations in total", () => {
    expect(total).toBeGreaterThan(SEEDS.length * 150);
    // The comparison covered every kind of decision, not just one.
    for (const k of [
      "unicast",
      "unicast+via",
      "local",
      "broadcast",
      "ENETUNREACH",
      "EHOSTUNREACH",
      "EACCES",
      "EINVAL",
    ]) {
      expect(kinds.get(k) ?? 0, k).toBeGreaterThan(0);
    }
    console.log(
      `route get: ${total} destinations, ${routes} random routes, ${SEEDS.length} topologies; kernel decisions ${JSON.stringify(Object.fromEntries(kinds))}`,
    );
  });
});

describeKernel("route get after address deletion: simulator vs kernel", { commands: ["ip"] }, () => {
  it("secondary, primary (with its secondaries) and last address", () => {
    const topology: Topology = {
      namespaces: [{ name: "a" }, { name: "b" }],
      links: [
        {
          kind: "veth",
          a: { ns: "a", name: "eth0", addresses: ["10.1.0.2/24", "10.1.0.3/24", "10.2.0.2/24", "10.1.0.4/24"] },
          b: { ns: "b", name: "eth0", addresses: ["10.1.0.1/24", "10.2.0.1/24"] },
        },
      ],
      routes: [
        { ns: "a", dst: "default", via: "10.1.0.1" },
        { ns: "a", dst: "172.16.0.0/12", via: "10.2.0.1" },
        { ns: "a", dst: "192.168.0.0/16", dev: "eth0", src: "10.1.0.3" },
        { ns: "a", dst: "198.51.100.0/24", dev: "eth0", src: "10.2.0.2" },
      ],
    };
    const dp = buildTopology(topology);
    const real = realize(topology, { prefix: `knet-rd${process.pid % 10000}-` });
    made.push(...real.teardown.map((c) => [...c]));
    const dsts = [
      "10.1.0.1",
      "10.1.0.2",
      "10.1.0.3",
      "10.1.0.4",
      "10.1.0.255",
      "10.2.0.1",
      "10.2.0.2",
      "10.2.0.255",
      "8.8.8.8",
      "172.16.1.1",
      "192.168.1.1",
      "198.51.100.7",
    ];
    try {
      for (const cmd of real.setup) expect(run(cmd[0] as string, cmd.slice(1)).code, cmd.join(" ")).toBe(0);
      const compare = (label: string): void => {
        const kernel = kernelRouteGet(real.nsName("a"), dsts);
        const sim = dsts.map((d): Decision => {
          const g = dp.ns("a").routeGet(d);
          return g.kind === "error"
            ? { kind: g.errno }
            : {
                kind: g.kind,
                dev: g.dev,
                ...(g.via ? { via: g.via.toString() } : {}),
                ...(g.src ? { src: g.src.toString() } : {}),
              };
        });
        expect(sim, label).toEqual(kernel);
      };
      compare("before");
      for (const cidr of ["10.1.0.4/24", "10.1.0.2/24", "10.2.0.2/24"]) {
        expect(run("ip", ["-n", real.nsName("a"), "addr", "del", cidr, "dev", "eth0"]).code).toBe(0);
        dp.ns("a").deleteAddress("eth0", cidr);
        compare(`after deleting ${cidr}`);
      }
    } finally {
      for (const c of real.teardown) run(c[0] as string, c.slice(1));
    }
  });
});

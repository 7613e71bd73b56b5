// Random topologies for the kernel differential test (and unit tests of the
// same generator): 2-6 namespaces joined by veths, one bridge, and random
// routes with overlapping prefixes, gateways, onlink, metrics and
// blackhole/unreachable/prohibit types. Routes the simulator refuses (as the
// kernel would) are left out; the kernel test checks the kernel accepts the rest.
import {
  Addr,
  buildTopology,
  type LinkSpec,
  NetstackError,
  Prefix,
  seededRandom,
  type Topology,
  type TopologyRoute,
} from "@knet/netstack";

export interface RandomTopology {
  readonly topology: Topology;
  /** Destinations worth asking about, per namespace. */
  readonly destinations: ReadonlyMap<string, readonly string[]>;
}

const POOL = [
  "0.0.0.0/0",
  "10.0.0.0/8",
  "10.96.0.0/12",
  "10.96.0.0/16",
  "172.16.0.0/12",
  "172.16.5.0/24",
  "172.16.5.128/25",
  "172.16.5.192/26",
  "192.168.0.0/16",
  "192.168.7.0/24",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "203.0.113.64/27",
].map((p) => Prefix.parse(p));

export function randomTopology(seed: number): RandomTopology {
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd.next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd.next() * xs.length)] as T;
  const n = int(2, 6);
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const links: LinkSpec[] = [];
  // Connected subnets: every namespace i > 0 hangs off an earlier one.
  let sub = 0;
  const veth = (a: string, b: string, len: 24 | 30): void => {
    sub++;
    const base = Addr.parse(`10.${100 + sub}.${int(0, 255)}.0`);
    const p = Prefix.parse(`${base}/${len}`, { mask: true });
    // Sometimes a secondary address on the same subnet, or a second subnet on the same device.
    const extra: string[] = [];
    if (len === 24 && rnd.next() < 0.3) extra.push(`${p.nth(int(3, 250))}/${len}`);
    if (rnd.next() < 0.2) extra.push(`172.31.${sub}.1/24`);
    links.push({
      kind: "veth",
      a: { ns: a, name: `v${sub}a`, addresses: [`${p.nth(1)}/${len}`, ...extra] },
      b: { ns: b, name: `v${sub}b`, addresses: [`${p.nth(2)}/${len}`] },
    });
  };
  for (let i = 1; i < n; i++) veth(names[int(0, i - 1)] as string, names[i] as string, rnd.next() < 0.7 ? 24 : 30);
  for (let k = int(0, 2); k > 0; k--) {
    const a = pick(names);
    const b = pick(names);
    if (a !== b) veth(a, b, 24);
  }
  // One bridge with ports towards up to three other namespaces.
  const brNs = pick(names);
  links.push({ kind: "bridge", ns: brNs, name: "br0", addresses: ["10.250.0.1/24"] });
  let port = 0;
  for (const other of names) {
    if (other === brNs || port >= 3 || rnd.next() < 0.3) continue;
    port++;
    links.push({
      kind: "veth",
      a: { ns: brNs, name: `bp${port}`, master: "br0" },
      b: { ns: other, name: `bv${port}`, addresses: [`10.250.0.${10 + port}/24`] },
    });
  }
  const topo0: Topology = { namespaces: names.map((name) => ({ name })), links };
  // Random routes, each kept only when the simulator accepts it.
  const dp = buildTopology(topo0);
  const routes: TopologyRoute[] = [];
  for (const ns of names) {
    const sim = dp.ns(ns);
    const connected = sim
      .addresses()
      .filter((x) => x.dev !== "lo" && x.ifa.addr.family === 4)
      .map((x) => ({ dev: x.dev, ifa: x.ifa }));
    // Gateways: other addresses on our connected subnets (the peers), or any host of the subnet.
    const peers: { dev: string; gw: Addr }[] = [];
    for (const c of connected) {
      for (const other of dp.namespaces()) {
        if (other.name === ns) continue;
        for (const o of other.addresses())
          if (c.ifa.prefix.contains(o.ifa.addr)) peers.push({ dev: c.dev, gw: o.ifa.addr });
      }
      peers.push({ dev: c.dev, gw: c.ifa.prefix.nth(int(1, 2)) });
    }
    for (let k = int(3, 9); k > 0; k--) {
      let dst = pick(POOL);
      if (rnd.next() < 0.35 && dst.length < 28)
        dst = Prefix.parse(`${dst.addr.add(int(0, 255) * 256)}/${int(dst.length + 1, 28)}`, { mask: true });
      const r = rnd.next();
      const metric = pick([undefined, 0, 10, 100]);
      let spec: TopologyRoute;
      const dstText = dst.length === 0 ? "default" : dst.toString();
      const m = metric === undefined ? {} : { metric };
      if (r < 0.12) spec = { ns, dst: dstText, type: "blackhole", ...m };
      else if (r < 0.2) spec = { ns, dst: dstText, type: "unreachable", ...m };
      else if (r < 0.26) spec = { ns, dst: dstText, type: "prohibit", ...m };
      else if (r < 0.45 && connected.length > 0) spec = { ns, dst: dstText, dev: pick(connected).dev, ...m };
      else if (r < 0.53 && connected.length > 0) {
        spec = { ns, dst: dstText, via: `192.0.2.${int(1, 254)}`, dev: pick(connected).dev, onlink: true, ...m };
      } else if (peers.length > 0) {
        const g = pick(peers);
        spec =
          rnd.next() < 0.5
            ? { ns, dst: dstText, via: g.gw.toString(), ...m }
            : { ns, dst: dstText, via: g.gw.toString(), dev: g.dev, ...m };
      } else continue;
      try {
        const { ns: _ns, ...rs } = spec;
        sim.addRoute(rs);
        routes.push(spec);
      } catch (e) {
        if (!(e instanceof NetstackError)) throw e;
      }
    }
  }
  // Sometimes one device is set down at the end: its routes die, lookups fall back.
  let links1 = links;
  if (rnd.next() < 0.5) {
    const k = int(0, links.length - 1);
    const l = links[k] as LinkSpec;
    const down = l.kind === "veth" ? { ...l, a: { ...l.a, up: false } } : { ...l, up: false };
    links1 = links.map((x, i) => (i === k ? down : x));
  }
  const topology: Topology = { ...topo0, links: links1, routes };
  // Destinations: inside every route and connected prefix (edges too), every address, random ones.
  const dpFinal = buildTopology(topology);
  const everyAddr = dpFinal.namespaces().flatMap((x) => x.addresses().map((a) => a.ifa));
  const destinations = new Map<string, string[]>();
  for (const ns of names) {
    const set = new Set<string>();
    for (const r of dp.ns(ns).fib.routes()) {
      const p = r.dst;
      if (p.family !== 4) continue;
      set.add(p.first().toString());
      set.add(p.last().toString());
      set.add(p.nth(BigInt(Math.floor(rnd.next() * Number(p.size())))).toString());
    }
    for (const ifa of everyAddr) if (ifa.addr.family === 4) set.add(ifa.addr.toString());
    while (set.size < 90) set.add(Addr.v4(Math.floor(rnd.next() * 0xffffffff)).toString());
    destinations.set(
      ns,
      [...set].filter((a) => !a.startsWith("0.") && !(Number(a.split(".")[0]) >= 224)),
    );
  }
  return { topology, destinations };
}

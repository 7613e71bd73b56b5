import type { LinkSpec, NeighbourSpec, Topology, TopologyRoute, VtepSpec } from "./topology.js";

/** Options of {@link flannelTopology}. */
export interface FlannelOptions {
  /** Number of nodes (2-9); default 2. */
  readonly nodes?: number;
  /** Pods per node (1-9); default 1. */
  readonly podsPerNode?: number;
  /** VXLAN UDP port; default 8472 (flannel's, the Linux default). */
  readonly dstport?: number;
  /** VNI; default 1. */
  readonly vni?: number;
  /** Underlay MTU; default 1500. The overlay gets 50 bytes less. */
  readonly underlayMtu?: number;
}

/**
 * A flannel-style VXLAN cluster as a {@link Topology}: nodes `node1..N` on an
 * underlay (`eth0`, 192.168.56.1N/24; two nodes share one veth, more hang off
 * an `underlay` bridge namespace), each with a `cni0` bridge
 * (10.244.N.1/24), a `flannel.1` VXLAN device (VNI 1, 10.244.N.0/32,
 * MAC 0e:00:00:00:00:0N, no learning) with the permanent neighbour and FDB
 * entries flannel writes for every other node, the route
 * `10.244.M.0/24 via 10.244.M.0 dev flannel.1 onlink`, and pods `podNa, podNb…`
 * (eth0 10.244.N.2.., default via 10.244.N.1) on veths enslaved to `cni0`.
 */
export function flannelTopology(options: FlannelOptions = {}): Topology {
  const nodes = options.nodes ?? 2;
  const pods = options.podsPerNode ?? 1;
  const underMtu = options.underlayMtu ?? 1500;
  const overlayMtu = underMtu - 50;
  const vni = options.vni ?? 1;
  const dstport = options.dstport ?? 8472;
  if (nodes < 2 || nodes > 9 || pods < 1 || pods > 9)
    throw new RangeError("flannelTopology: 2-9 nodes, 1-9 pods per node");
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  const namespaces: { name: string; sysctls?: Record<string, number> }[] = [];
  const links: LinkSpec[] = [];
  const routes: TopologyRoute[] = [];
  const neighbours: NeighbourSpec[] = [];
  const vteps: VtepSpec[] = [];
  const vtepMac = (n: number): string => `0e:00:00:00:00:0${n}`;
  const nodeIp = (n: number): string => `192.168.56.1${n}`;
  if (nodes > 2) namespaces.push({ name: "underlay" });
  for (const n of ids) namespaces.push({ name: `node${n}`, sysctls: { "net.ipv4.ip_forward": 1 } });
  if (nodes === 2) {
    links.push({
      kind: "veth",
      a: { ns: "node1", name: "eth0", addresses: [`${nodeIp(1)}/24`], mtu: underMtu },
      b: { ns: "node2", name: "eth0", addresses: [`${nodeIp(2)}/24`], mtu: underMtu },
    });
  } else {
    links.push({ kind: "bridge", ns: "underlay", name: "sw0", mtu: underMtu });
    for (const n of ids) {
      links.push({
        kind: "veth",
        a: { ns: `node${n}`, name: "eth0", addresses: [`${nodeIp(n)}/24`], mtu: underMtu },
        b: { ns: "underlay", name: `p${n}`, master: "sw0", mtu: underMtu },
      });
    }
  }
  for (const n of ids) {
    const node = `node${n}`;
    links.push({ kind: "bridge", ns: node, name: "cni0", addresses: [`10.244.${n}.1/24`], mtu: overlayMtu });
    links.push({
      kind: "vxlan",
      ns: node,
      name: "flannel.1",
      vni,
      local: nodeIp(n),
      dev: "eth0",
      dstport,
      learning: false,
      mac: vtepMac(n),
      mtu: overlayMtu,
      addresses: [`10.244.${n}.0/32`],
    });
    for (let k = 0; k < pods; k++) {
      const letter = String.fromCharCode(97 + k);
      const pod = `pod${n}${letter}`;
      namespaces.push({ name: pod });
      links.push({
        kind: "veth",
        a: { ns: pod, name: "eth0", addresses: [`10.244.${n}.${k + 2}/24`], mtu: overlayMtu },
        b: { ns: node, name: `veth${n}${letter}`, master: "cni0", mtu: overlayMtu },
      });
      routes.push({ ns: pod, dst: "default", via: `10.244.${n}.1` });
    }
    for (const m of ids) {
      if (m === n) continue;
      routes.push({ ns: node, dst: `10.244.${m}.0/24`, via: `10.244.${m}.0`, dev: "flannel.1", onlink: true });
      neighbours.push({ ns: node, dev: "flannel.1", addr: `10.244.${m}.0`, mac: vtepMac(m) });
      vteps.push({ ns: node, dev: "flannel.1", mac: vtepMac(m), dst: nodeIp(m) });
    }
  }
  return { namespaces, links, routes, neighbours, vteps };
}

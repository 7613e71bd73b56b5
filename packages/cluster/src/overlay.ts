import { type Addr, Prefix, type Topology } from "@knet/netstack";
import type { OverlayMode } from "./options.js";

/** One node as the overlay sees it. */
export interface NodeNet {
  /** Node name (also its simulated namespace). */
  readonly name: string;
  /** Underlay address (InternalIP). */
  readonly ip: Addr;
  /** Pod CIDR leased to the node. */
  readonly podCidr: Prefix;
  /** The node's address on cni0 (the pods' gateway, first address of the CIDR). */
  readonly gateway: Addr;
  /** flannel.1's MAC (the VTEP MAC flannel publishes in the node annotation). */
  readonly vtepMac: string;
}

/** The namespace that stands for the switch between the nodes. */
export const UNDERLAY_NS = "underlay";

/** The flannel VXLAN device name and parameters (flannel's defaults). */
export const FLANNEL = { dev: "flannel.1", vni: 1, port: 8472, overhead: 50 } as const;

/**
 * The `/run/flannel/subnet.env` flannel writes on a node: the network, the
 * node's lease, the MTU left for pods and whether to masquerade.
 */
export function subnetEnv(clusterCidr: string, node: NodeNet, mtu: number, mode: OverlayMode): string {
  const podMtu = mode === "vxlan" ? mtu - FLANNEL.overhead : mtu;
  return [
    `FLANNEL_NETWORK=${clusterCidr}`,
    `FLANNEL_SUBNET=${node.gateway}/${node.podCidr.length}`,
    `FLANNEL_MTU=${podMtu}`,
    "FLANNEL_IPMASQ=true",
    "",
  ].join("\n");
}

/**
 * The nodes and the network between them as a netstack topology: an underlay
 * switch, each node's `eth0` with a default route via the first address of its
 * subnet (the node network's router, as a docker or cloud network gives one:
 * a node process's connect() to a ClusterIP needs a route before kube-proxy's
 * OUTPUT rules rewrite it), its `cni0` bridge holding the gateway address, and
 * either flannel's VXLAN device with a route, neighbour and FDB entry per
 * remote node (`vxlan`) or plain routes via the remote node IPs (`host-gw`).
 */
export function nodeTopology(nodes: readonly NodeNet[], underlay: Prefix, mtu: number, mode: OverlayMode): Topology {
  const underlayLen = underlay.length;
  const podMtu = mode === "vxlan" ? mtu - FLANNEL.overhead : mtu;
  const namespaces: Topology["namespaces"][number][] = [{ name: UNDERLAY_NS }];
  const links: NonNullable<Topology["links"]>[number][] = [{ kind: "bridge", ns: UNDERLAY_NS, name: "sw0", mtu }];
  const routes: NonNullable<Topology["routes"]>[number][] = [];
  const neighbours: NonNullable<Topology["neighbours"]>[number][] = [];
  const vteps: NonNullable<Topology["vteps"]>[number][] = [];
  nodes.forEach((n, i) => {
    namespaces.push({ name: n.name, sysctls: { "net.ipv4.ip_forward": 1 } });
    links.push({
      kind: "veth",
      a: { ns: n.name, name: "eth0", addresses: [`${n.ip}/${underlayLen}`], mtu },
      b: { ns: UNDERLAY_NS, name: `port${i}`, master: "sw0", mtu },
    });
    // The router of the node's own subnet (a Node's InternalIP may lie outside the default node network).
    const router = Prefix.parse(`${n.ip}/${underlayLen}`, { mask: true }).nth(1);
    if (!router.equals(n.ip))
      routes.push({ ns: n.name, dst: n.ip.family === 6 ? "::/0" : "0.0.0.0/0", via: router.toString(), dev: "eth0" });
    links.push({
      kind: "bridge",
      ns: n.name,
      name: "cni0",
      addresses: [`${n.gateway}/${n.podCidr.length}`],
      mtu: podMtu,
    });
    if (mode === "vxlan") {
      links.push({
        kind: "vxlan",
        ns: n.name,
        name: FLANNEL.dev,
        vni: FLANNEL.vni,
        local: n.ip.toString(),
        dev: "eth0",
        dstport: FLANNEL.port,
        learning: false,
        mac: n.vtepMac,
        mtu: podMtu,
        addresses: [`${n.podCidr.addr}/32`],
      });
    }
    for (const m of nodes) {
      if (m === n) continue;
      if (mode === "vxlan") {
        routes.push({
          ns: n.name,
          dst: m.podCidr.toString(),
          via: m.podCidr.addr.toString(),
          dev: FLANNEL.dev,
          onlink: true,
        });
        neighbours.push({ ns: n.name, dev: FLANNEL.dev, addr: m.podCidr.addr.toString(), mac: m.vtepMac });
        vteps.push({ ns: n.name, dev: FLANNEL.dev, mac: m.vtepMac, dst: m.ip.toString() });
      } else {
        routes.push({ ns: n.name, dst: m.podCidr.toString(), via: m.ip.toString(), dev: "eth0" });
      }
    }
  });
  return { namespaces, links, routes, neighbours, vteps };
}

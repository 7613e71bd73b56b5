import { type CmdArgs, CniError, type Plugin, type PortmapHost, type Result100 } from "@knet/cni-spec";
import { hostLocal, MemoryStore } from "@knet/ipam";
import { Addr, type HookRegistration, Prefix, type Topology } from "@knet/netstack";

/** The topology pieces pods add: namespaces, veth pairs and routes. */
export interface PodTopology {
  readonly namespaces: Topology["namespaces"][number][];
  readonly links: NonNullable<Topology["links"]>[number][];
  readonly routes: NonNullable<Topology["routes"]>[number][];
}

/** The network a pod got from the CNI chain. */
export interface PodAttachment {
  /** Simulated namespace of the pod. */
  readonly netns: string;
  /** Node namespace. */
  readonly node: string;
  /** Host end of the veth pair on the node (`vethXXXXXXXX`). */
  readonly hostVeth: string;
  /** Address from host-local. */
  readonly ip: Addr;
  /** The CNI result of the chain (1.0.0). */
  readonly result: Result100;
}

/**
 * A portmap host whose hook registrations wait until the node's simulated
 * namespace exists: the CNI chain runs while the topology is still data.
 */
export class DeferredHooks implements PortmapHost {
  private readonly queued: { reg: HookRegistration; removed: boolean }[] = [];

  /** Queue a registration; the remover cancels it. */
  registerHook(reg: HookRegistration): () => void {
    const entry = { reg, removed: false };
    this.queued.push(entry);
    return () => {
      entry.removed = true;
    };
  }

  /** Registrations still wanted, in order. */
  pending(): HookRegistration[] {
    return this.queued.filter((q) => !q.removed).map((q) => q.reg);
  }
}

/** FNV-1a of a string, for stable veth names (the kubelet/CNI picks random ones). */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** `veth` + 8 hex digits, stable per container id. */
export function hostVethName(containerId: string): string {
  return `veth${fnv(containerId).toString(16).padStart(8, "0")}`;
}

/**
 * The in-process `bridge` plugin of the simulated cluster. Like the reference
 * plugin with `isGateway: true`, it gets an address from its IPAM plugin
 * (host-local, in memory, one store per node), creates a veth pair with the
 * container end as `CNI_IFNAME` and the host end enslaved to the bridge, and
 * gives the container a default route via the gateway. The links are recorded
 * as topology data (`CNI_NETNS` is the simulated namespace's name), so the same
 * cluster can also be realized in real namespaces.
 */
export function simBridgePlugin(
  node: string,
  mtu: number,
  topo: PodTopology,
  attachments: Map<string, PodAttachment>,
): Plugin {
  const store = new MemoryStore();
  const ipam = hostLocal({ openStore: () => store });
  return {
    async add(args: CmdArgs): Promise<Result100> {
      const bridge = typeof args.config.bridge === "string" ? args.config.bridge : "cni0";
      const got = (await ipam.add(args)) as Result100;
      const ipc = got.ips?.[0];
      if (!ipc) throw new CniError(999, "IPAM plugin returned no address");
      const cidr = Prefix.parse(ipc.address, { mask: true });
      const ip = Addr.parse(ipc.address.split("/")[0] ?? "");
      const gateway = ipc.gateway ?? cidr.nth(1).toString();
      const hostVeth = hostVethName(args.containerId);
      topo.namespaces.push({ name: args.netns });
      topo.links.push({
        kind: "veth",
        a: { ns: args.netns, name: args.ifName, addresses: [`${ip}/${cidr.length}`], mtu },
        b: { ns: node, name: hostVeth, master: bridge, mtu },
      });
      topo.routes.push({ ns: args.netns, dst: "default", via: gateway });
      const result: Result100 = {
        cniVersion: "1.0.0",
        interfaces: [{ name: bridge }, { name: hostVeth }, { name: args.ifName, sandbox: args.netns }],
        ips: [{ address: `${ip}/${cidr.length}`, gateway, interface: 2 }],
        routes: [{ dst: "0.0.0.0/0", gw: gateway }],
        dns: {},
      };
      attachments.set(args.containerId, { netns: args.netns, node, hostVeth, ip, result });
      return result;
    },
    async del(args: CmdArgs): Promise<void> {
      await ipam.del(args);
      attachments.delete(args.containerId);
    },
  };
}

/** flannel's delegate conflist for a node: bridge + host-local + portmap, as flannel writes it. */
export function nodeConflist(podCidr: Prefix, mtu: number): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "cbr0",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        mtu,
        ipam: { type: "host-local", ranges: [[{ subnet: podCidr.toString() }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

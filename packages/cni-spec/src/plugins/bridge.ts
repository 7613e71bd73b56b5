/**
 * In-process `bridge` reference plugin for the simulator. Like the reference
 * plugin with `isGateway: true`, ADD asks its IPAM plugin for an address,
 * creates a veth pair with the container end named `CNI_IFNAME` in the
 * container's namespace (`CNI_NETNS`) and the host end enslaved to the bridge,
 * and gives the container a default route via the gateway. The links are
 * written as `@knet/netstack` topology data, so the same network can be built
 * in the simulator (`buildTopology`) and in real namespaces (`realize`).
 * The IPAM plugin is injected (the reference plugin execs it from CNI_PATH).
 */
import { Addr, Prefix, type Topology } from "@knet/netstack";
import { CniError, ErrorCode } from "../errors.js";
import type { CmdArgs, Plugin } from "../plugin.js";
import { convertResult, type Result } from "../types/convert.js";
import type { Result100 } from "../types/v100.js";

/** Where the bridge plugin writes the links it creates: topology arrays, appended to and pruned. */
export interface BridgeTopology {
  /** Namespaces (one per container). */
  readonly namespaces: Topology["namespaces"][number][];
  /** Links (one veth pair per attachment). */
  readonly links: NonNullable<Topology["links"]>[number][];
  /** Routes (the container's default route). */
  readonly routes: NonNullable<Topology["routes"]>[number][];
}

/** Options of {@link bridgePlugin}. */
export interface BridgePluginOptions {
  /** The host (node) namespace that holds the bridge. */
  readonly hostNs: string;
  /** The IPAM plugin the `ipam` section names (e.g. `@knet/ipam`'s `hostLocal()`). */
  readonly ipam: Plugin;
  /** Where links are written. */
  readonly topology: BridgeTopology;
}

/** FNV-1a of a string, for stable host-side veth names. */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The host end's name: `veth` + 8 hex digits, stable per container id (the reference picks random ones). */
export function hostVethName(containerId: string): string {
  return `veth${fnv(containerId).toString(16).padStart(8, "0")}`;
}

function ipamArgs(args: CmdArgs): CmdArgs {
  if (typeof args.config.ipam !== "object" || args.config.ipam === null) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "bridge: missing ipam section", "", "ipam");
  }
  return args;
}

/** The in-process bridge plugin (see the module text). */
export function bridgePlugin(options: BridgePluginOptions): Plugin {
  const { topology, hostNs } = options;
  return {
    async add(args: CmdArgs): Promise<Result> {
      const bridge = typeof args.config.bridge === "string" ? args.config.bridge : "cni0";
      const mtu = typeof args.config.mtu === "number" ? args.config.mtu : 1500;
      const got = convertResult(await options.ipam.add(ipamArgs(args)), "1.0.0").result as Result100;
      const ipc = got.ips?.[0];
      if (!ipc) throw new CniError(ErrorCode.Internal, "bridge: IPAM plugin returned no address");
      const cidr = Prefix.parse(ipc.address, { mask: true });
      const ip = Addr.parse(ipc.address.slice(0, ipc.address.indexOf("/")));
      const gateway = ipc.gateway ?? cidr.nth(1).toString();
      const hostVeth = hostVethName(args.containerId);
      topology.namespaces.push({ name: args.netns });
      topology.links.push({
        kind: "veth",
        a: { ns: args.netns, name: args.ifName, addresses: [`${ip}/${cidr.length}`], mtu },
        b: { ns: hostNs, name: hostVeth, master: bridge, mtu },
      });
      topology.routes.push({ ns: args.netns, dst: "default", via: gateway });
      return {
        cniVersion: "1.0.0",
        interfaces: [{ name: bridge }, { name: hostVeth }, { name: args.ifName, sandbox: args.netns }],
        ips: [{ address: `${ip}/${cidr.length}`, gateway, interface: 2 }],
        routes: [{ dst: ip.family === 4 ? "0.0.0.0/0" : "::/0", gw: gateway }],
        dns: {},
      };
    },
    async del(args: CmdArgs): Promise<void> {
      await options.ipam.del(ipamArgs(args));
      const drop = <T>(list: T[], gone: (x: T) => boolean): void => {
        for (let i = list.length - 1; i >= 0; i--) if (gone(list[i] as T)) list.splice(i, 1);
      };
      drop(topology.namespaces, (n) => n.name === args.netns);
      drop(topology.links, (l) => l.kind === "veth" && l.a.ns === args.netns);
      drop(topology.routes, (r) => r.ns === args.netns);
    },
  };
}

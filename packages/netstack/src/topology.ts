import { Dataplane, type DataplaneOptions } from "./dataplane.js";
import { NetstackError, type RouteSpec } from "./net-namespace.js";

/** A namespace of a {@link Topology}. */
export interface NamespaceSpec {
  /** Name (the real namespace gets `realize`'s prefix in front). */
  readonly name: string;
  /** Sysctls to set, e.g. `{ "net.ipv4.ip_forward": 1 }`. Per-device keys (`conf.eth0.*`) are set after the links exist. */
  readonly sysctls?: Readonly<Record<string, number>>;
}

/** Settings shared by every device spec. */
export interface DeviceSpec {
  /** Addresses as `A/LEN`. */
  readonly addresses?: readonly string[];
  /** MTU. */
  readonly mtu?: number;
  /** MAC address `aa:bb:cc:dd:ee:ff`. */
  readonly mac?: string;
  /** Bridge to enslave the device to. */
  readonly master?: string;
  /** Hairpin mode as a bridge port. */
  readonly hairpin?: boolean;
  /** Administratively up (default true). A down device is set down last, after the routes. */
  readonly up?: boolean;
}

/** One end of a veth pair. */
export interface VethEnd extends DeviceSpec {
  /** Namespace. */
  readonly ns: string;
  /** Device name. */
  readonly name: string;
}

/** A link of a {@link Topology}. */
export type LinkSpec =
  | {
      /** A veth pair. */
      readonly kind: "veth";
      /** First end. */
      readonly a: VethEnd;
      /** Second end. */
      readonly b: VethEnd;
    }
  | (DeviceSpec & {
      /** A bridge or a dummy device. */
      readonly kind: "bridge" | "dummy";
      /** Namespace. */
      readonly ns: string;
      /** Device name. */
      readonly name: string;
    })
  | (DeviceSpec & {
      /** A VXLAN device. */
      readonly kind: "vxlan";
      /** Namespace. */
      readonly ns: string;
      /** Device name. */
      readonly name: string;
      /** VNI. */
      readonly vni: number;
      /** Local VTEP address. */
      readonly local?: string;
      /** UDP port (4789 or 8472); default 8472. */
      readonly dstport?: number;
      /** Underlay device. */
      readonly dev?: string;
      /** MAC learning; default true. */
      readonly learning?: boolean;
    });

/** A route of a {@link Topology}: a {@link RouteSpec} with its namespace, addresses as text. */
export type TopologyRoute = Omit<RouteSpec, "dst" | "via" | "src"> & {
  /** Namespace. */
  readonly ns: string;
  /** Destination prefix or `default`. */
  readonly dst: string;
  /** Gateway. */
  readonly via?: string;
  /** Preferred source. */
  readonly src?: string;
};

/** A permanent neighbour entry. */
export interface NeighbourSpec {
  /** Namespace. */
  readonly ns: string;
  /** Device. */
  readonly dev: string;
  /** IP address. */
  readonly addr: string;
  /** MAC address. */
  readonly mac: string;
}

/** A VXLAN FDB entry: inner MAC (all zeros for the default) to a remote VTEP. */
export interface VtepSpec {
  /** Namespace. */
  readonly ns: string;
  /** VXLAN device. */
  readonly dev: string;
  /** Inner MAC. */
  readonly mac: string;
  /** Remote VTEP address. */
  readonly dst: string;
}

/**
 * A network described as data: namespaces, links with their addresses,
 * routes, permanent neighbours and VXLAN FDB entries. {@link buildTopology}
 * turns it into a simulated {@link Dataplane}; `realize` into `ip` commands.
 */
export interface Topology {
  /** Namespaces. */
  readonly namespaces: readonly NamespaceSpec[];
  /** Links. */
  readonly links?: readonly LinkSpec[];
  /** Routes, added in order after every address. */
  readonly routes?: readonly TopologyRoute[];
  /** Permanent neighbours. */
  readonly neighbours?: readonly NeighbourSpec[];
  /** VXLAN FDB entries. */
  readonly vteps?: readonly VtepSpec[];
}

/** A device of a topology with its namespace (veth ends flattened). */
export interface FlatDevice extends DeviceSpec {
  /** Namespace. */
  readonly ns: string;
  /** Device name. */
  readonly name: string;
}

/** Every device of a topology in creation order: bridges and dummies, veth ends, then vxlan devices. */
export function topologyDevices(t: Topology): FlatDevice[] {
  const links = t.links ?? [];
  const out: FlatDevice[] = [];
  for (const l of links) if (l.kind === "bridge" || l.kind === "dummy") out.push(l);
  for (const l of links) if (l.kind === "veth") out.push(l.a, l.b);
  for (const l of links) if (l.kind === "vxlan") out.push(l);
  return out;
}

/** True for a sysctl that names a device (`net.ipv4.conf.<dev>.*` other than `all`/`default`). */
export function isDeviceSysctl(key: string): boolean {
  const m = /^net\.ipv[46]\.conf\.([^.]+)\./.exec(key);
  return m !== null && m[1] !== "all" && m[1] !== "default";
}

/**
 * Build the simulated dataplane of a topology, in the order the kernel needs:
 * namespaces and global sysctls, devices, bridge ports, addresses, device
 * sysctls, routes, neighbours, VXLAN FDB.
 * @throws {@link NetstackError} for what the kernel would refuse (bad gateway, duplicate route, …).
 */
export function buildTopology(t: Topology, options: DataplaneOptions = {}): Dataplane {
  const dp = new Dataplane(options);
  for (const n of t.namespaces) {
    const ns = dp.addNamespace(n.name);
    for (const [k, v] of Object.entries(n.sysctls ?? {})) if (!isDeviceSysctl(k)) ns.setSysctl(k, v);
  }
  const links = t.links ?? [];
  for (const l of links) {
    if (l.kind === "bridge") dp.addBridge(l.ns, l.name, opt(l));
    else if (l.kind === "dummy") dp.addDummy(l.ns, l.name, opt(l));
  }
  for (const l of links) {
    if (l.kind !== "veth") continue;
    const o: { mtu?: number; macA?: string; macB?: string } = {};
    if (l.a.mac !== undefined) o.macA = l.a.mac;
    if (l.b.mac !== undefined) o.macB = l.b.mac;
    const [a, b] = dp.addVeth(l.a.ns, l.a.name, l.b.ns, l.b.name, o);
    if (l.a.mtu !== undefined) a.mtu = l.a.mtu;
    if (l.b.mtu !== undefined) b.mtu = l.b.mtu;
  }
  for (const l of links) {
    if (l.kind !== "vxlan") continue;
    dp.addVxlan(l.ns, l.name, {
      vni: l.vni,
      ...(l.local !== undefined ? { local: l.local } : {}),
      ...(l.dstport !== undefined ? { dstport: l.dstport } : {}),
      ...(l.dev !== undefined ? { dev: l.dev } : {}),
      ...(l.learning !== undefined ? { learning: l.learning } : {}),
      ...opt(l),
    });
  }
  const devices = topologyDevices(t);
  for (const d of devices) {
    if (d.master !== undefined) dp.ns(d.ns).setMaster(d.name, d.master);
    if (d.hairpin) dp.ns(d.ns).setHairpin(d.name, true);
  }
  for (const d of devices) for (const a of d.addresses ?? []) dp.ns(d.ns).addAddress(d.name, a);
  for (const n of t.namespaces) {
    for (const [k, v] of Object.entries(n.sysctls ?? {})) if (isDeviceSysctl(k)) dp.ns(n.name).setSysctl(k, v);
  }
  for (const r of t.routes ?? []) {
    const { ns, ...spec } = r;
    dp.ns(ns).addRoute(spec);
  }
  for (const n of t.neighbours ?? []) dp.ns(n.ns).addNeighbour(n.dev, n.addr, n.mac);
  for (const v of t.vteps ?? []) dp.ns(v.ns).addVtep(v.dev, v.mac, v.dst);
  for (const d of devices) if (d.up === false) dp.ns(d.ns).setUp(d.name, false);
  return dp;
}

function opt(d: DeviceSpec): { mtu?: number; mac?: string } {
  const o: { mtu?: number; mac?: string } = {};
  if (d.mtu !== undefined) o.mtu = d.mtu;
  if (d.mac !== undefined) o.mac = d.mac;
  return o;
}

/** Options of {@link realize}. */
export interface RealizeOptions {
  /** Prefix of the real namespace names; must start with `knet-`. */
  readonly prefix: string;
}

/** Commands that build (and tear down) a topology in real namespaces. */
export interface Realized {
  /** Commands to run in order (argv arrays, no shell). */
  readonly setup: readonly (readonly string[])[];
  /** Commands that remove everything `setup` made (namespace deletion). */
  readonly teardown: readonly (readonly string[])[];
  /** Real name of a topology namespace. */
  nsName(name: string): string;
  /** Both lists as a shell script (`set -e` for setup, teardown errors ignored). */
  script(): string;
}

/**
 * Emit the `ip netns` / `ip link` / `ip addr` / `ip route` / `ip neigh` /
 * `bridge fdb` / `sysctl` commands that build `t` in real network
 * namespaces named `prefix + name`. Every device is created inside a
 * namespace (veth peers straight into the peer's namespace), never in the
 * root namespace. The teardown deletes the namespaces, which removes
 * everything in them.
 * @throws {@link NetstackError} EINVAL for a prefix without `knet-` or a name the kernel would refuse.
 */
export function realize(t: Topology, options: RealizeOptions): Realized {
  const { prefix } = options;
  if (!prefix.startsWith("knet-"))
    throw new NetstackError("EINVAL", `namespace prefix ${JSON.stringify(prefix)} must start with "knet-"`);
  const nsName = (n: string): string => {
    if (!t.namespaces.some((x) => x.name === n))
      throw new NetstackError("ENOENT", `topology has no namespace ${JSON.stringify(n)}`);
    return `${prefix}${n}`;
  };
  const ip = (ns: string, ...args: string[]): string[] => ["ip", "-n", nsName(ns), ...args];
  const sysctl = (ns: string, k: string, v: number): string[] => [
    "ip",
    "netns",
    "exec",
    nsName(ns),
    "sysctl",
    "-qw",
    `${k}=${v}`,
  ];
  const setup: string[][] = [];
  for (const n of t.namespaces) {
    setup.push(["ip", "netns", "add", nsName(n.name)]);
    setup.push(ip(n.name, "link", "set", "lo", "up"));
    for (const [k, v] of Object.entries(n.sysctls ?? {})) if (!isDeviceSysctl(k)) setup.push(sysctl(n.name, k, v));
  }
  const links = t.links ?? [];
  const devOpts = (d: DeviceSpec): string[] => [
    ...(d.mtu !== undefined ? ["mtu", String(d.mtu)] : []),
    ...(d.mac !== undefined ? ["address", d.mac] : []),
  ];
  for (const l of links) {
    if (l.kind === "bridge" || l.kind === "dummy")
      setup.push(ip(l.ns, "link", "add", l.name, ...devOpts(l), "type", l.kind));
  }
  for (const l of links) {
    if (l.kind !== "veth") continue;
    const peer = ["peer", "name", l.b.name, ...devOpts(l.b), ...(l.b.ns !== l.a.ns ? ["netns", nsName(l.b.ns)] : [])];
    setup.push(ip(l.a.ns, "link", "add", l.a.name, ...devOpts(l.a), "type", "veth", ...peer));
  }
  for (const l of links) {
    if (l.kind !== "vxlan") continue;
    setup.push(
      ip(
        l.ns,
        "link",
        "add",
        l.name,
        ...devOpts(l),
        "type",
        "vxlan",
        "id",
        String(l.vni),
        ...(l.local !== undefined ? ["local", l.local] : []),
        ...(l.dev !== undefined ? ["dev", l.dev] : []),
        "dstport",
        String(l.dstport ?? 8472),
        ...(l.learning === false ? ["nolearning"] : []),
      ),
    );
  }
  const devices = topologyDevices(t);
  for (const d of devices) {
    if (d.master !== undefined) setup.push(ip(d.ns, "link", "set", d.name, "master", d.master));
    if (d.hairpin) setup.push(ip(d.ns, "link", "set", d.name, "type", "bridge_slave", "hairpin", "on"));
  }
  for (const d of devices) {
    for (const a of d.addresses ?? []) {
      setup.push(ip(d.ns, "addr", "add", a, "dev", d.name, ...(a.includes(":") ? ["nodad"] : [])));
    }
  }
  for (const d of devices) setup.push(ip(d.ns, "link", "set", d.name, "up"));
  for (const n of t.namespaces) {
    for (const [k, v] of Object.entries(n.sysctls ?? {})) if (isDeviceSysctl(k)) setup.push(sysctl(n.name, k, v));
  }
  for (const r of t.routes ?? []) {
    const type = r.type ?? "unicast";
    setup.push(
      ip(
        r.ns,
        "route",
        "add",
        ...(type !== "unicast" ? [type] : []),
        r.dst,
        ...(r.via !== undefined ? ["via", r.via] : []),
        ...(r.dev !== undefined && (type === "unicast" || type === "local" || type === "broadcast")
          ? ["dev", r.dev]
          : []),
        ...(r.onlink ? ["onlink"] : []),
        ...(r.metric !== undefined ? ["metric", String(r.metric)] : []),
        ...(r.src !== undefined ? ["src", r.src] : []),
        ...(r.scope !== undefined ? ["scope", r.scope] : []),
        ...(r.table !== undefined && r.table !== "main" ? ["table", r.table] : []),
      ),
    );
  }
  for (const n of t.neighbours ?? []) {
    setup.push(ip(n.ns, "neigh", "replace", n.addr, "lladdr", n.mac, "dev", n.dev, "nud", "permanent"));
  }
  for (const v of t.vteps ?? [])
    setup.push(["bridge", "-n", nsName(v.ns), "fdb", "append", v.mac, "dev", v.dev, "dst", v.dst]);
  for (const d of devices) if (d.up === false) setup.push(ip(d.ns, "link", "set", d.name, "down"));
  const teardown = [...t.namespaces].reverse().map((n) => ["ip", "netns", "del", nsName(n.name)]);
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return {
    setup,
    teardown,
    nsName,
    script: () =>
      [
        "#!/bin/sh",
        "set -e",
        ...setup.map((c) => c.map(quote).join(" ")),
        "# teardown:",
        ...teardown.map((c) => `# ${c.map(quote).join(" ")}`),
      ].join("\n"),
  };
}

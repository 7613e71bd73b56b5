import { readFileSync } from "node:fs";
import {
  DiskStore,
  hostLocalAdd,
  hostLocalCheck,
  hostLocalDel,
  IpamError,
  type IpRange,
  loadHostLocalConfig,
  NodeCidrAllocator,
  NodePortAllocator,
  rangeSetToString,
  ServiceIpAllocator,
  seededRandom,
} from "@knet/ipam";
import { Addr } from "@knet/netstack";
import {
  CliError,
  type CommandFamily,
  ExitCode,
  formatStructured,
  type Io,
  OUTPUT_FLAGS,
  outputFormat,
  parseFlags,
} from "../cli.js";
import { INPUT_FLAGS, NAMESPACE_FLAG, readInputs } from "../manifests.js";

const USAGE = `Usage: knet ipam <subcommand> [flags]

host-local stores (the on-disk layout of the CNI host-local plugin, so a real
node's /var/lib/cni/networks/<network> can be inspected and continued):
  show   --config FILE [--data-dir DIR] [-f PODS [-n NS]] [-o json|yaml]
         range sets, capacity, reservations and last reserved IPs of the network;
         with -f (Pods, e.g. kubectl get pods -A -o yaml) each reservation names
         the pod whose status.podIPs holds it ("no pod": a leaked address), and
         -n NS lists only the reservations of NS's pods
  add    --config FILE --container ID [--ifname eth0] [--ip IP] [--data-dir DIR] [-o json|yaml]
         allocate one address per range set (as the plugin's ADD)
  del    --config FILE --container ID [--ifname eth0] [--data-dir DIR]
         release the attachment's addresses (as DEL; succeeds when nothing is held)
  check  --config FILE --container ID [--ifname eth0] [--data-dir DIR]
         exit 0 when the attachment holds an address (as CHECK)

Control-plane allocators (in memory, for planning):
  cluster-ip --service-cidr CIDR [--count N] [--seed N] [--node-port-range A-B]
         kube-apiserver's ClusterIP range: size, static band, kubernetes Service IP,
         and N dynamic picks (and NodePorts when --node-port-range is given)
  node-cidrs --cluster-cidr CIDR[,CIDR] --nodes N [--mask-v4 24] [--mask-v6 64] [--service-cidr CIDR]
         pod CIDRs kube-controller-manager would give N nodes

FILE is a network config (.conf with "ipam") or a config list (.conflist; the first
plugin with an "ipam" section is used). --data-dir overrides ipam.dataDir.
-o json|yaml prints the result as data (--json: same as -o json).

Exit status: 0 done, 1 a negative answer (no address held for check, the
range is full, the store is locked), 2 bad usage or an unreadable config.
`;

/** The plugin config (with the list's name and cniVersion) of a .conf or .conflist. */
function readPluginConfig(path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`ipam: cannot read config ${path}: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new CliError(`ipam: ${path} is not a JSON object`);
  const o = doc as Record<string, unknown>;
  if (!Array.isArray(o.plugins)) return o;
  const plugin = o.plugins.find((p) => typeof p === "object" && p !== null && "ipam" in p) as
    | Record<string, unknown>
    | undefined;
  if (!plugin) throw new CliError(`ipam: no plugin in ${path} has an "ipam" section`);
  return { ...plugin, name: o.name, cniVersion: o.cniVersion };
}

function loadConfig(values: { config?: string | undefined; "data-dir"?: string | undefined }, cniArgs = "") {
  if (!values.config) throw new CliError("ipam: --config FILE is required (see 'knet ipam --help')", 2);
  const raw = readPluginConfig(values.config);
  if (values["data-dir"]) raw.ipam = { ...(raw.ipam as Record<string, unknown>), dataDir: values["data-dir"] };
  try {
    return loadHostLocalConfig(raw, cniArgs);
  } catch (e) {
    if (e instanceof IpamError) throw new CliError(`ipam: ${values.config}: ${e.message}`);
    throw e;
  }
}

function capacity(set: readonly IpRange[]): bigint {
  let n = 0n;
  for (const r of set) {
    n += r.rangeEnd.toBigInt() - r.rangeStart.toBigInt() + 1n;
    if (r.gateway.compare(r.rangeStart) >= 0 && r.gateway.compare(r.rangeEnd) <= 0 && r.subnet.contains(r.gateway))
      n -= 1n;
  }
  return n;
}

function storeOp<T>(config: ReturnType<typeof loadConfig>, fn: (s: DiskStore) => T): T {
  let store: DiskStore;
  try {
    store = DiskStore.open(config.dataDir, config.name);
  } catch (e) {
    throw new CliError(`ipam: ${(e as Error).message}`, ExitCode.negative);
  }
  try {
    return fn(store);
  } catch (e) {
    if (e instanceof IpamError) throw new CliError(`ipam: ${e.message}`, ExitCode.negative);
    throw e;
  } finally {
    store.close();
  }
}

const storeFlags = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  container: { type: "string" },
  ifname: { type: "string", default: "eth0" },
  ip: { type: "string" },
  ...OUTPUT_FLAGS,
} as const;

/** `show` also reads Pods (`-f`) to name the pod holding each address, and `-n`. */
const showFlags = { ...storeFlags, ...INPUT_FLAGS, ...NAMESPACE_FLAG } as const;

type ShowValues = ReturnType<typeof parseFlags<typeof showFlags>>["values"];

/**
 * The pod (`NS/NAME`) holding each address, from the Pods of `-f` (their
 * status.podIP and status.podIPs, as the kubelet reports what CNI gave them).
 */
function podsByIp(values: ShowValues, io: Io): Map<string, { pod: string; namespace: string }> | undefined {
  if ((values.filename ?? []).length === 0) {
    if (values.namespace !== undefined)
      throw new CliError(
        `ipam show: -n ${values.namespace} needs -f PODS: a host-local store records container IDs, not namespaces; give the pods (kubectl get pods -A -o yaml) so addresses can be matched to them`,
      );
    return undefined;
  }
  const { objects, skips } = readInputs(values, "ipam show", io, { admission: "api" });
  skips.finish();
  const byIp = new Map<string, { pod: string; namespace: string }>();
  for (const o of objects) {
    if (o.kind !== "Pod") continue;
    const namespace = o.metadata?.namespace ?? "default";
    const ips = [o.status?.podIP, ...(o.status?.podIPs ?? []).map((p) => p.ip)];
    for (const ip of ips) {
      if (ip === undefined || ip === "" || !Addr.isValid(ip)) continue;
      byIp.set(Addr.parse(ip).toString(), { pod: `${namespace}/${o.metadata?.name ?? ""}`, namespace });
    }
  }
  return byIp;
}

function show(argv: readonly string[], io: Io): number {
  const { values, positionals } = parseFlags(argv, showFlags, "ipam show");
  if (positionals.length > 0) throw new CliError(`ipam show: unexpected argument '${positionals[0]}'`);
  const format = outputFormat(values, "ipam show", ["json", "yaml"]);
  const config = loadConfig(values);
  const pods = podsByIp(values, io);
  const owner = (ip: string) => (pods === undefined ? {} : { pod: pods.get(ip)?.pod ?? null });
  const wanted = (ip: string) => values.namespace === undefined || pods?.get(ip)?.namespace === values.namespace;
  const summary = storeOp(config, (s) => {
    const reservations = s.reservations();
    const last = s.lastReserved();
    return config.rangeSets.map((set, i) => {
      const mine = reservations.filter((r) => set.some((rg) => rg.subnet.contains(r.ip)));
      return {
        index: i,
        ranges: rangeSetToString(set),
        subnets: set.map((r) => r.subnet.toString()),
        gateways: set.map((r) => r.gateway.toString()),
        capacity: capacity(set).toString(),
        used: mine.length,
        lastReserved: last.get(String(i)) ?? null,
        reservations: mine
          .filter((r) => wanted(r.ip.toString()))
          .map((r) => ({
            ip: r.ip.toString(),
            containerId: r.containerId,
            ifname: r.ifname ?? null,
            ...owner(r.ip.toString()),
          })),
      };
    });
  });
  if (format === "json" || format === "yaml") {
    io.out(
      formatStructured(
        {
          network: config.name,
          store: `${config.dataDir}/${config.name}`,
          ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
          rangeSets: summary,
        },
        format,
      ),
    );
    return ExitCode.ok;
  }
  const only = values.namespace === undefined ? "" : `  (reservations of namespace ${values.namespace})`;
  io.out(`network ${config.name}  store ${config.dataDir}/${config.name}${only}\n`);
  for (const s of summary) {
    io.out(
      `range set ${s.index}: ${s.ranges}  (gateway ${s.gateways.join(",")})  used ${s.used}/${s.capacity}  last reserved ${s.lastReserved ?? "-"}\n`,
    );
    for (const r of s.reservations) {
      const pod = r.pod === undefined ? "" : `  ${r.pod ?? "no pod (leaked?)"}`;
      io.out(`  ${r.ip.padEnd(39)} ${r.containerId}${r.ifname === null ? " (legacy record)" : ` ${r.ifname}`}${pod}\n`);
    }
  }
  return 0;
}

function attachment(values: { container?: string | undefined; ifname?: string | undefined }, cmd: string) {
  if (!values.container) throw new CliError(`ipam ${cmd}: --container ID is required`, 2);
  return { containerId: values.container, ifname: values.ifname ?? "eth0" };
}

function add(argv: readonly string[], io: Io): number {
  const { values } = parseFlags(argv, storeFlags, "ipam add");
  const format = outputFormat(values, "ipam add", ["json", "yaml"]);
  const att = attachment(values, "add");
  const config = loadConfig(values, values.ip ? `IP=${values.ip}` : "");
  const result = storeOp(config, (s) => hostLocalAdd(config, att, s));
  if (format === "json" || format === "yaml") io.out(formatStructured(result, format));
  else for (const ip of result.ips) io.out(`${ip.address} gateway ${ip.gateway}\n`);
  return 0;
}

function del(argv: readonly string[], io: Io): number {
  const { values } = parseFlags(argv, storeFlags, "ipam del");
  const att = attachment(values, "del");
  const config = loadConfig(values);
  const released = storeOp(config, (s) => hostLocalDel(config, att, s));
  io.out(released.length === 0 ? "nothing held\n" : `released ${released.map(String).join(" ")}\n`);
  return 0;
}

function check(argv: readonly string[], io: Io): number {
  const { values } = parseFlags(argv, storeFlags, "ipam check");
  const att = attachment(values, "check");
  const config = loadConfig(values);
  storeOp(config, (s) => hostLocalCheck(config, att, s));
  io.out(`${att.containerId} ${att.ifname} holds an address\n`);
  return 0;
}

function int(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text))
    throw new CliError(`ipam: ${flag} must be a non-negative integer, got ${JSON.stringify(text)}`, 2);
  return Number(text);
}

function clusterIp(argv: readonly string[], io: Io): number {
  const { values } = parseFlags(
    argv,
    {
      "service-cidr": { type: "string" },
      count: { type: "string" },
      seed: { type: "string" },
      "node-port-range": { type: "string" },
    },
    "ipam cluster-ip",
  );
  const cidr = values["service-cidr"];
  if (!cidr) throw new CliError("ipam cluster-ip: --service-cidr CIDR is required", 2);
  const random = seededRandom(int(values.seed, "--seed", 1));
  let a: ServiceIpAllocator;
  try {
    a = new ServiceIpAllocator(cidr, { random });
  } catch (e) {
    throw new CliError(`ipam cluster-ip: ${(e as Error).message}`, 2);
  }
  const k = a.kubernetesServiceIp();
  a.allocate(k);
  io.out(
    `service CIDR ${a.cidr}: ${a.size} allocatable addresses, static band ${a.staticBand} (${a.addrAt(0)}-${a.addrAt(Math.max(0, a.staticBand - 1))})\n`,
  );
  io.out(`kubernetes Service: ${k}\n`);
  const n = int(values.count, "--count", 5);
  for (let i = 0; i < n && a.free > 0; i++) io.out(`dynamic: ${a.allocateNext()}\n`);
  if (values["node-port-range"]) {
    let p: NodePortAllocator;
    try {
      p = new NodePortAllocator(values["node-port-range"], { random });
    } catch (e) {
      throw new CliError(`ipam cluster-ip: ${(e as Error).message}`, 2);
    }
    io.out(`node ports ${p.range}: ${p.size} ports, static band ${p.staticBand}\n`);
    for (let i = 0; i < n && p.free > 0; i++) io.out(`node port: ${p.allocateNext()}\n`);
  }
  return 0;
}

function nodeCidrs(argv: readonly string[], io: Io): number {
  const { values } = parseFlags(
    argv,
    {
      "cluster-cidr": { type: "string" },
      nodes: { type: "string" },
      "mask-v4": { type: "string" },
      "mask-v6": { type: "string" },
      "service-cidr": { type: "string" },
    },
    "ipam node-cidrs",
  );
  if (!values["cluster-cidr"]) throw new CliError("ipam node-cidrs: --cluster-cidr CIDR[,CIDR] is required", 2);
  let a: NodeCidrAllocator;
  try {
    a = new NodeCidrAllocator({
      clusterCidrs: values["cluster-cidr"].split(","),
      nodeMaskSizeV4: int(values["mask-v4"], "--mask-v4", 24),
      nodeMaskSizeV6: int(values["mask-v6"], "--mask-v6", 64),
      serviceCidrs: values["service-cidr"] ? values["service-cidr"].split(",") : [],
    });
  } catch (e) {
    throw new CliError(`ipam node-cidrs: ${(e as Error).message}`, 2);
  }
  const n = int(values.nodes, "--nodes", 3);
  for (let i = 1; i <= n; i++) {
    try {
      io.out(`node-${i} ${a.allocateOrOccupy(`node-${i}`).map(String).join(",")}\n`);
    } catch (e) {
      throw new CliError(`ipam node-cidrs: node-${i}: ${(e as Error).message}`, ExitCode.negative);
    }
  }
  return 0;
}

/** `knet ipam`: inspect and allocate from host-local stores; plan ClusterIPs and node CIDRs. */
export const ipamCommand: CommandFamily = {
  name: "ipam",
  summary: "inspect and allocate from host-local stores; plan ClusterIPs, NodePorts, node pod CIDRs",
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "show":
        return show(rest, io);
      case "add":
        return add(rest, io);
      case "del":
        return del(rest, io);
      case "check":
        return check(rest, io);
      case "cluster-ip":
        return clusterIp(rest, io);
      case "node-cidrs":
        return nodeCidrs(rest, io);
      case undefined:
        throw new CliError("ipam: missing subcommand (see 'knet ipam --help')", 2);
      default:
        throw new CliError(`ipam: unknown subcommand '${sub}' (see 'knet ipam --help')`, 2);
    }
  },
};

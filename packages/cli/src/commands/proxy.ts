import {
  defaultService,
  type EndpointSlice,
  endpointSlicesFor,
  LABEL_SERVICE_NAME,
  type Node,
  namespaceOf,
  objectKey,
  type Pod,
  type Service,
} from "@knet/k8s";
import {
  buildProxyState,
  DEFAULT_PROXY_MODE,
  findProxyMode,
  type Protocol,
  type ProxyConfig,
  type ProxyEngine,
  type ProxyModeDefinition,
  ProxyModelError,
  type ProxyPacket,
  proxyConfig,
  proxyModes,
  seededRandom,
} from "@knet/kube-proxy";
import { Addr, AddrError } from "@knet/netstack";
import { CliError, type CommandFamily, type Io, parseFlags } from "../cli.js";
import { readObjects } from "../manifests.js";

/** The `--mode` names, alphabetically (the registry holds them in registration order). */
function modeNames(): string[] {
  return proxyModes()
    .map((m) => m.name)
    .sort();
}

const usage = (): string => `Usage: knet proxy <subcommand> -f FILE [-f FILE...] [flags]

Builds what kube-proxy writes on one node from Services, EndpointSlices (or Pods,
from which EndpointSlices are derived) and Nodes, and traces packets through it.

Subcommands:
  render  -f FILE [--mode MODE] [--node NAME] [--node-ip IP] [--cluster-cidr CIDR] [--masquerade-all]
          print the artifact a full sync writes (iptables: the iptables-restore input)
  trace   -f FILE --src IP --dst IP:PORT [--proto tcp|udp|sctp] [--seed N] [--json] [node flags]
          print the verdict (backend chosen, or the drop/reject reason) and every rule visited

Flags:
  -f, --filename FILE   manifest file ('-' for stdin); repeatable
  --mode MODE           ${modeNames().join(" | ")} (default ${DEFAULT_PROXY_MODE})
  --node NAME           this node (default: the first Node in the manifests, else node-1)
  --node-ip IP          this node's IP (default: the Node's InternalIP addresses)
  --cluster-cidr CIDR   pod CIDR(s), comma-separated, for the local-traffic detector
  --masquerade-all      SNAT all traffic to ClusterIPs
  --src IP, --dst IP:PORT, --proto P, --seed N (default 1), --json
  --format NAME         render one of the mode's artifacts (ebpf: batch | maps)

ebpf mode (Cilium's LB flags):
  --lb-algorithm A      random | maglev (default random)
  --maglev-table-size M 251 | 509 | 1021 | 2039 | 4093 | 8191 | 16381 (default) | 32749 | 65521 | 131071
  --maglev-hash-seed S  base64 of 12 bytes (default Cilium's)
  --lb-algorithm-annotation  honour service.cilium.io/lb-algorithm per Service

Modes:
${modeNames()
  .map((n) => `  ${n.padEnd(10)} ${findProxyMode(n)?.description ?? ""}`)
  .join("\n")}
`;

const OPTIONS = {
  filename: { type: "string", short: "f", multiple: true },
  mode: { type: "string" },
  node: { type: "string" },
  "node-ip": { type: "string", multiple: true },
  "cluster-cidr": { type: "string" },
  "masquerade-all": { type: "boolean" },
  src: { type: "string" },
  dst: { type: "string" },
  proto: { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  format: { type: "string" },
  "lb-algorithm": { type: "string" },
  "maglev-table-size": { type: "string" },
  "maglev-hash-seed": { type: "string" },
  "lb-algorithm-annotation": { type: "boolean" },
} as const;

const EBPF_FLAGS = ["lb-algorithm", "maglev-table-size", "maglev-hash-seed", "lb-algorithm-annotation"] as const;

/** Mode-specific engine options from the flags (only the ebpf mode has any). */
function modeOptions(mode: ProxyModeDefinition, values: Record<string, unknown>, inp: Inputs): Record<string, unknown> {
  const given = EBPF_FLAGS.filter((f) => values[f] !== undefined);
  if (mode.name !== "ebpf") {
    if (given.length > 0) throw new CliError(`proxy: --${given[0]} is an ebpf mode flag (use --mode ebpf)`, 2);
    return {};
  }
  const size = values["maglev-table-size"];
  if (size !== undefined && !/^[0-9]+$/.test(size as string))
    throw new CliError(`proxy: --maglev-table-size '${size}' is not a number`, 2);
  const annotations = new Map(
    inp.services.map((s) => [
      `${s.metadata?.namespace ?? "default"}/${s.metadata?.name ?? ""}`,
      s.metadata?.annotations,
    ]),
  );
  return {
    ...(values["lb-algorithm"] !== undefined ? { algorithm: values["lb-algorithm"] } : {}),
    ...(size !== undefined ? { maglevTableSize: Number(size) } : {}),
    ...(values["maglev-hash-seed"] !== undefined ? { maglevHashSeed: values["maglev-hash-seed"] } : {}),
    ...(values["lb-algorithm-annotation"] === true ? { algorithmAnnotation: true } : {}),
    annotations: (key: string) => annotations.get(key),
  };
}

/** The artifact `--format` names (one of the mode's), or the full render. */
function renderFormat(mode: ProxyModeDefinition, engine: ProxyEngine, format: string | undefined): string {
  if (format === undefined) return engine.render();
  const names = mode.artifacts.map((a) => a.name);
  if (!names.includes(format))
    throw new CliError(`proxy render: --format '${format}': mode ${mode.name} writes ${names.join(", ")}`, 2);
  const one = (engine as { renderArtifact?: (name: string) => string }).renderArtifact;
  if (typeof one === "function") return one.call(engine, format);
  if (names.length === 1) return engine.render();
  throw new CliError(`proxy render: --format: mode ${mode.name} renders all its artifacts together`, 2);
}

function modeOf(name: string | undefined): ProxyModeDefinition {
  const m = findProxyMode(name ?? DEFAULT_PROXY_MODE);
  if (!m) throw new CliError(`proxy: unknown --mode '${name}': use ${modeNames().join(", ")}`, 2);
  return m;
}

interface Inputs {
  readonly config: ProxyConfig;
  readonly services: Service[];
  readonly endpointSlices: EndpointSlice[];
}

function inputs(values: Record<string, unknown>, familyHint: 4 | 6 | undefined): Inputs {
  const objects = readObjects(values.filename as string[] | undefined, "proxy", { skipUnknownKinds: true });
  const nodes = objects.filter((o): o is Node => o.kind === "Node");
  const pods = objects.filter((o): o is Pod => o.kind === "Pod");
  const services = objects.filter((o): o is Service => o.kind === "Service").map((s) => defaultService(s));
  const given = objects.filter((o): o is EndpointSlice => o.kind === "EndpointSlice");
  const withSlices = new Set(given.map((s) => `${namespaceOf(s)}/${s.metadata?.labels?.[LABEL_SERVICE_NAME] ?? ""}`));
  const derived = services
    .filter((s) => !withSlices.has(objectKey(s)))
    .flatMap((s) => endpointSlicesFor(s, pods, nodes.length > 0 ? { nodes } : {}));
  const nodeName = (values.node as string | undefined) ?? nodes[0]?.metadata?.name ?? "node-1";
  const node = nodes.find((n) => n.metadata?.name === nodeName);
  const ipTexts =
    (values["node-ip"] as string[] | undefined) ??
    (node?.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
  let nodeIPs: Addr[];
  try {
    nodeIPs = ipTexts.map((t) => Addr.parse(t));
  } catch (e) {
    throw new CliError(`proxy: --node-ip: ${(e as Error).message}`, 2);
  }
  const family = familyHint ?? ((values["node-ip"] as string[] | undefined) && nodeIPs[0]?.family === 6 ? 6 : 4);
  let config: ProxyConfig;
  try {
    config = proxyConfig({
      family,
      nodeName,
      nodeIPs,
      nodeLabels: node?.metadata?.labels ?? {},
      ...(values["cluster-cidr"] !== undefined ? { clusterCIDR: values["cluster-cidr"] as string } : {}),
      masqueradeAll: values["masquerade-all"] === true,
    });
  } catch (e) {
    if (e instanceof AddrError) throw new CliError(`proxy: --cluster-cidr: ${e.message}`, 2);
    throw e;
  }
  return { config, services, endpointSlices: [...given, ...derived] };
}

function engineFor(mode: ProxyModeDefinition, inp: Inputs, seed: number, values: Record<string, unknown>): ProxyEngine {
  let engine: ProxyEngine;
  try {
    engine = mode.create({
      config: inp.config,
      random: seededRandom(seed),
      now: () => 0,
      ...modeOptions(mode, values, inp),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`proxy: ${e.message}`, 2);
    throw e;
  }
  try {
    engine.sync(buildProxyState(inp.config, { services: inp.services, endpointSlices: inp.endpointSlices }), {
      full: true,
    });
  } catch (e) {
    if (e instanceof ProxyModelError) throw new CliError(`proxy: ${e.message}`, 1);
    throw e;
  }
  return engine;
}

function parseDst(text: string): { addr: Addr; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new CliError(`proxy: --dst '${text}': want IP:PORT (IPv6 as [IP]:PORT)`, 2);
  try {
    return { addr: Addr.parse(m[1] as string), port };
  } catch (e) {
    throw new CliError(`proxy: --dst: ${(e as Error).message}`, 2);
  }
}

function render(argv: readonly string[], io: Io): number {
  const { values, positionals } = parseFlags(argv, OPTIONS, "proxy render");
  if (positionals.length > 0) throw new CliError(`proxy render: unexpected argument '${positionals[0]}'`, 2);
  for (const f of ["src", "dst", "proto", "seed", "json"] as const)
    if (values[f] !== undefined)
      throw new CliError(`proxy render: --${f} is a trace flag (see 'knet proxy --help')`, 2);
  const mode = modeOf(values.mode);
  const engine = engineFor(mode, inputs(values, undefined), 1, values);
  io.out(renderFormat(mode, engine, values.format));
  return 0;
}

function trace(argv: readonly string[], io: Io): number {
  const { values, positionals } = parseFlags(argv, OPTIONS, "proxy trace");
  if (positionals.length > 0) throw new CliError(`proxy trace: unexpected argument '${positionals[0]}'`, 2);
  const mode = modeOf(values.mode);
  if (values.src === undefined) throw new CliError("proxy trace: --src IP is required", 2);
  if (values.dst === undefined) throw new CliError("proxy trace: --dst IP:PORT is required", 2);
  let src: Addr;
  try {
    src = Addr.parse(values.src);
  } catch (e) {
    throw new CliError(`proxy trace: --src: ${(e as Error).message}`, 2);
  }
  const dst = parseDst(values.dst);
  if (src.family !== dst.addr.family)
    throw new CliError("proxy trace: --src and --dst must be of the same IP family", 2);
  const proto = (values.proto ?? "tcp").toLowerCase();
  if (proto !== "tcp" && proto !== "udp" && proto !== "sctp")
    throw new CliError(`proxy trace: --proto '${values.proto}': use tcp, udp or sctp`, 2);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new CliError(`proxy trace: --seed '${values.seed}' is not an integer`, 2);
  if (values.format !== undefined) throw new CliError("proxy trace: --format is a render flag", 2);
  const engine = engineFor(mode, inputs(values, src.family), seed, values);
  const packet: ProxyPacket = { src, dst: dst.addr, dport: dst.port, protocol: proto as Protocol };
  const { outcome, trace: steps } = engine.evaluate(packet);
  if (values.json === true) {
    io.out(
      `${JSON.stringify({ mode: mode.name, packet: { src: src.toString(), dst: dst.addr.toString(), dport: dst.port, protocol: proto }, outcome, trace: steps }, null, 2)}\n`,
    );
    return 0;
  }
  const verdict =
    outcome.kind === "dnat"
      ? `DNAT to ${dst.addr.family === 6 ? `[${outcome.backend.ip}]` : outcome.backend.ip}:${outcome.backend.port}${outcome.masquerade ? " (masqueraded)" : ""}`
      : outcome.kind === "accept"
        ? `ACCEPT, not a service destination${outcome.masquerade ? " (masqueraded)" : ""}`
        : `${outcome.kind.toUpperCase()}: ${outcome.reason}`;
  io.out(`verdict: ${verdict}\n`);
  io.out(`rules visited: ${steps.length}\n`);
  for (const s of steps) {
    const where = `${s.table}/${s.chain}${s.rule > 0 ? ` #${s.rule}` : ""}`;
    io.out(`  ${s.matched ? "+" : "-"} ${where.padEnd(34)} ${s.text}\n`);
  }
  return 0;
}

/** `knet proxy`: kube-proxy's artifacts for one node, and packet traces through them. */
export const proxyCommand: CommandFamily = {
  name: "proxy",
  summary: "kube-proxy rules for a node (render) and packet traces through them (trace)",
  get usage() {
    return usage();
  },
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === "render") return render(rest, io);
    if (sub === "trace") return trace(rest, io);
    if (sub === undefined)
      throw new CliError("proxy: missing subcommand: render or trace (see 'knet proxy --help')", 2);
    throw new CliError(`proxy: unknown subcommand '${sub}': use render or trace`, 2);
  },
};

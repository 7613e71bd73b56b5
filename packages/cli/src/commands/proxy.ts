import {
  defaultService,
  type EndpointSlice,
  endpointSlicesFor,
  type KubeObject,
  type Node,
  objectKey,
  type Pod,
  type Service,
} from "@knet/k8s";
import {
  ChangeTracker,
  DEFAULT_PROXY_MODE,
  findProxyMode,
  type KubeProxyConfiguration,
  kubeProxyEngineOptions,
  kubeProxyProxyConfigInput,
  type Protocol,
  type ProxyConfig,
  type ProxyEngine,
  type ProxyHostOptions,
  type ProxyModeDefinition,
  ProxyModelError,
  type ProxyPacket,
  type ProxyState,
  proxyConfig,
  proxyModes,
  seededRandom,
} from "@knet/kube-proxy";
import { Addr, AddrError, Prefix } from "@knet/netstack";
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
import { readKubeProxyConfigFile } from "../kube-proxy-config-file.js";
import { INPUT_FLAGS, objectName, readInputs } from "../manifests.js";
import { ARTIFACTS, BOOTSTRAPS } from "./proxy-artifacts.js";
import { PROXY_RUN_USAGE, proxyRun } from "./proxy-run.js";

/** The `--mode` names, alphabetically (the registry holds them in registration order). */
function modeNames(): string[] {
  return proxyModes()
    .map((m) => m.name)
    .sort();
}

function artifactLines(): string {
  return Object.entries(ARTIFACTS)
    .flatMap(([mode, list]) =>
      list.map(
        (a) =>
          `                          ${mode}: ${a.name.padEnd(10)} ${findProxyMode(mode)?.artifacts.find((x) => x.name === a.artifact)?.description ?? ""}`,
      ),
    )
    .join("\n");
}

const usage = (): string => `Usage: knet proxy <subcommand> -f FILE [-f FILE...] [flags]

Builds what kube-proxy writes on one node from Services, EndpointSlices (or Pods,
from which EndpointSlices are derived) and Nodes, and traces packets through it.
Addresses are read as kube-proxy reads them (172.30.0.041 is 172.30.0.41) and
written canonically. As kube-proxy does, an address it cannot parse, or an object
it cannot read (an unknown protocol), is skipped, named on stderr, and the rest
is still written.

Subcommands:
  render  -f FILE [--config FILE] [--mode MODE] [--artifact NAME] [--bootstrap] [node flags]
          print the artifact a full sync writes (iptables: the iptables-restore input)
  trace   -f FILE [--config FILE] --src IP --dst IP:PORT [--proto tcp|udp|sctp] [--seed N] [-o json|yaml] [node flags]
          print the verdict (backend chosen, or the drop/reject reason) and every rule visited${PROXY_RUN_USAGE}
Flags:
  -f, --filename FILE   manifest file ('-' for stdin); repeatable
      --strict          fail (exit 2) instead of skipping objects kube-proxy cannot read
      --config FILE     kube-proxy's own configuration file (a KubeProxyConfiguration,
                        kubeproxy.config.k8s.io/v1alpha1, YAML or JSON), read as kube-proxy
                        reads it: strictly (an unknown field is an error), with its defaults
                        and validation messages. It sets mode, clusterCIDR, detectLocalMode and
                        detectLocal, nodePortAddresses, hostnameOverride (the node), the mode's
                        masqueradeAll/masqueradeBit and sync periods, iptables.localhostNodePorts,
                        ipvs.scheduler and timeouts, conntrack.tcpBeLiberal. Flags override it.
      --mode MODE       ${modeNames().join(" | ")} (default ${DEFAULT_PROXY_MODE})
      --node NAME       this node, one of the manifests' Nodes (default: the first Node, else node-1)
      --node-ip IP      this node's IP (default: the Node's InternalIP addresses); repeatable
      --cluster-cidr CIDR  pod CIDR(s), comma-separated, for the local-traffic detector
      --masquerade-all  SNAT all traffic to ClusterIPs

What kube-proxy detects on the host (so a render matches a given node):
      --nfacct          (iptables) the nfacct counters exist: count localhost NodePort and
                        INVALID drops with -m nfacct
      --no-random-fully (iptables, ipvs) the iptables binary lacks --random-fully: MASQUERADE without it
      --conntrack-tcp-be-liberal  (iptables) nf_conntrack_tcp_be_liberal is 1: no INVALID-drop rule
      --service-cidr CIDR  (nftables) the cluster's service CIDRs (ServiceCIDR objects),
                        comma-separated: cluster-ips-check drops their unallocated addresses
  render:
      --artifact NAME   print one payload alone, ready for its tool (default: all, with headings):
${artifactLines()}
      --bootstrap       (iptables) add the chains and jumps from the built-in chains that
                        kube-proxy installs outside the restore payload: the output alone
                        loads into an empty node (iptables-restore) and evaluates
  trace:
      --src IP, --dst IP:PORT, --proto tcp|udp|sctp (default tcp), --seed N (default 1)
  -o, --output FORMAT   trace: json | yaml (--json: same as -o json)

ebpf mode (Cilium's LB flags):
      --lb-algorithm A  random | maglev (default random)
      --maglev-table-size M  251 | 509 | 1021 | 2039 | 4093 | 8191 | 16381 (default) | 32749 | 65521 | 131071
      --maglev-hash-seed S   base64 of 12 bytes (default Cilium's)
      --lb-algorithm-annotation  honour service.cilium.io/lb-algorithm per Service

Modes:
${modeNames()
  .map((n) => `  ${n.padEnd(10)} ${findProxyMode(n)?.description ?? ""}`)
  .join("\n")}

Exit status: 0 rendered or traced (whatever the verdict), 2 bad input.
`;

const OPTIONS = {
  ...INPUT_FLAGS,
  ...OUTPUT_FLAGS,
  mode: { type: "string" },
  node: { type: "string" },
  "node-ip": { type: "string", multiple: true },
  "cluster-cidr": { type: "string" },
  "masquerade-all": { type: "boolean" },
  config: { type: "string" },
  nfacct: { type: "boolean" },
  "no-random-fully": { type: "boolean" },
  "conntrack-tcp-be-liberal": { type: "boolean" },
  "service-cidr": { type: "string" },
  artifact: { type: "string" },
  bootstrap: { type: "boolean" },
  src: { type: "string" },
  dst: { type: "string" },
  proto: { type: "string" },
  seed: { type: "string" },
  format: { type: "string" },
  "lb-algorithm": { type: "string" },
  "maglev-table-size": { type: "string" },
  "maglev-hash-seed": { type: "string" },
  "lb-algorithm-annotation": { type: "boolean" },
} as const;

const EBPF_FLAGS = ["lb-algorithm", "maglev-table-size", "maglev-hash-seed", "lb-algorithm-annotation"] as const;

/** The host-detection flags, with the modes that read each. */
const HOST_FLAGS = {
  nfacct: ["iptables"],
  "no-random-fully": ["iptables", "ipvs"],
  "conntrack-tcp-be-liberal": ["iptables"],
  "service-cidr": ["nftables"],
} as const;

/** What kube-proxy would detect on the host, from the flags (an error for a mode that does not read one). */
function hostOptions(mode: ProxyModeDefinition, values: ProxyValues): ProxyHostOptions {
  for (const [flag, modes] of Object.entries(HOST_FLAGS))
    if (values[flag as keyof typeof HOST_FLAGS] !== undefined && !(modes as readonly string[]).includes(mode.name))
      throw new CliError(`proxy: --${flag} is for ${modes.map((m) => `--mode ${m}`).join(", ")}`);
  let serviceCIDRs: Prefix[] | undefined;
  if (values["service-cidr"] !== undefined)
    serviceCIDRs = values["service-cidr"].split(",").map((t) => {
      try {
        return Prefix.parse(t.trim());
      } catch (e) {
        throw new CliError(`proxy: --service-cidr: ${(e as Error).message}`);
      }
    });
  return {
    ...(values.nfacct === true ? { nfacct: true } : {}),
    ...(values["no-random-fully"] === true ? { randomFully: false } : {}),
    ...(values["conntrack-tcp-be-liberal"] === true ? { conntrackTCPLiberal: true } : {}),
    ...(serviceCIDRs !== undefined ? { serviceCIDRs } : {}),
  };
}

/** The v1alpha1 fields each flag overrides (a problem with an overridden field does not count). */
/** `--config FILE`, when given (see `readKubeProxyConfigFile`). */
function kubeProxyConfig(values: ProxyValues, command: string): KubeProxyConfiguration | undefined {
  return values.config === undefined ? undefined : readKubeProxyConfigFile(values.config, values, command);
}

/** Mode-specific engine options from the flags (only the ebpf mode has any). */
function modeOptions(
  mode: ProxyModeDefinition,
  values: ProxyValues,
  services: readonly Service[],
): Record<string, unknown> {
  const given = EBPF_FLAGS.filter((f) => values[f] !== undefined);
  if (mode.name !== "ebpf") {
    if (given.length > 0) throw new CliError(`proxy: --${given[0]} is an ebpf mode flag (use --mode ebpf)`);
    return {};
  }
  const size = values["maglev-table-size"];
  if (size !== undefined && !/^[0-9]+$/.test(size))
    throw new CliError(`proxy: --maglev-table-size '${size}' is not a number`);
  const annotations = new Map(services.map((s) => [objectKey(s), s.metadata?.annotations]));
  return {
    ...(values["lb-algorithm"] !== undefined ? { algorithm: values["lb-algorithm"] } : {}),
    ...(size !== undefined ? { maglevTableSize: Number(size) } : {}),
    ...(values["maglev-hash-seed"] !== undefined ? { maglevHashSeed: values["maglev-hash-seed"] } : {}),
    ...(values["lb-algorithm-annotation"] === true ? { algorithmAnnotation: true } : {}),
    annotations: (key: string) => annotations.get(key),
  };
}

/**
 * One artifact alone: the CLI's names (`ipvs: ipvsadm | ipset | iptables | addresses`)
 * or the registry's, through the engine's `renderArtifact` (`ebpf: batch | maps`).
 */
function renderArtifact(mode: ProxyModeDefinition, engine: ProxyEngine, name: string, flag: string): string {
  const mine = (ARTIFACTS[mode.name] ?? []).find((a) => a.name === name || a.artifact === name);
  if (mine) return mine.render(engine);
  const registry = mode.artifacts.map((a) => a.name);
  const one = (engine as { renderArtifact?: (name: string) => string }).renderArtifact;
  if (registry.includes(name) && typeof one === "function") return one.call(engine, name);
  const names = ARTIFACTS[mode.name]?.map((a) => a.name) ?? (typeof one === "function" ? registry : []);
  throw new CliError(
    names.length === 0
      ? `proxy render: --mode ${mode.name} writes one artifact: drop ${flag}`
      : `proxy render: unknown ${flag} '${name}' for --mode ${mode.name}: it writes ${names.join(", ")}`,
  );
}

type ProxyValues = ReturnType<typeof parseFlags<typeof OPTIONS>>["values"];

function modeOf(name: string | undefined): ProxyModeDefinition {
  const m = findProxyMode(name ?? DEFAULT_PROXY_MODE);
  if (!m) throw new CliError(`proxy: unknown --mode '${name}': use ${modeNames().join(", ")}`);
  return m;
}

interface ProxyInputs {
  readonly config: ProxyConfig;
  readonly state: ProxyState;
  /** The Services read (their annotations steer the ebpf mode). */
  readonly services: readonly Service[];
}

/** The node `--node` names: a Node of the manifests (an unknown name is an error naming them), else the first. */
function selectNode(nodes: readonly Node[], wanted: string | undefined, command: string): Node | undefined {
  if (wanted === undefined) return nodes[0];
  const node = nodes.find((n) => n.metadata?.name === wanted);
  if (node === undefined && nodes.length > 0)
    throw new CliError(
      `${command}: unknown --node '${wanted}': the manifests have ${nodes.map((n) => n.metadata?.name ?? "").join(", ")}`,
      ExitCode.usage,
    );
  return node;
}

/**
 * This node's IPs: `--node-ip` when given, else the Node's InternalIP addresses.
 * A bad one is reported where it was written: the flag, or the Node's field.
 */
function nodeAddresses(
  flag: readonly string[] | undefined,
  node: Node | undefined,
  nodeName: string,
  command: string,
): Addr[] {
  if (flag !== undefined)
    return flag.map((t) => {
      try {
        return Addr.parse(t);
      } catch (e) {
        throw new CliError(`${command}: --node-ip: ${(e as Error).message}`, ExitCode.usage);
      }
    });
  const out: Addr[] = [];
  (node?.status?.addresses ?? []).forEach((a, i) => {
    if (a?.type !== "InternalIP") return;
    try {
      out.push(Addr.parse(a.address));
    } catch (e) {
      throw new CliError(
        `${command}: Node/${nodeName} status.addresses[${i}].address: ${(e as Error).message} (fix the Node, or give --node-ip)`,
        ExitCode.usage,
      );
    }
  });
  return out;
}

/**
 * Read the manifests and build what kube-proxy would sync from them. As
 * kube-proxy does, an object its model cannot read (an unparsable address, an
 * unknown protocol) is skipped and reported, and the rest is still rendered.
 */
function inputs(
  values: ProxyValues,
  command: string,
  io: Io,
  familyHint: 4 | 6 | undefined,
  kp: KubeProxyConfiguration | undefined,
  mode: ProxyModeDefinition,
): ProxyInputs {
  const { objects, sources, skips } = readInputs(values, command, io, { admission: "duplicates" });
  const nodes = objects.filter((o): o is Node => o.kind === "Node");
  const pods = objects.filter((o): o is Pod => o.kind === "Pod");
  const services = objects.filter((o): o is Service => o.kind === "Service");
  const given = objects.filter((o): o is EndpointSlice => o.kind === "EndpointSlice");
  // kube-proxy's identity: --node, else the file's hostnameOverride, else the first Node.
  const override = kp?.hostnameOverride || undefined;
  const node =
    values.node === undefined && override !== undefined
      ? nodes.find((n) => n.metadata?.name === override)
      : selectNode(nodes, values.node, command);
  const nodeName = values.node ?? override ?? node?.metadata?.name ?? "node-1";
  const nodeIPs = nodeAddresses(values["node-ip"], node, nodeName, command);
  const family = familyHint ?? (values["node-ip"] && nodeIPs[0]?.family === 6 ? 6 : 4);
  let config: ProxyConfig;
  try {
    const fromFile =
      kp === undefined
        ? {}
        : kubeProxyProxyConfigInput(kp, mode.name, { family, nodeIPs, podCIDRs: node?.spec?.podCIDRs ?? [] });
    // --cluster-cidr replaces the file's CIDRs, and with them the detector built from them.
    const { localDetector, ...rest } = fromFile;
    const keepDetector =
      localDetector !== undefined &&
      !(values["cluster-cidr"] !== undefined && (kp?.detectLocalMode === "" || kp?.detectLocalMode === "ClusterCIDR"));
    config = proxyConfig({
      ...rest,
      ...(keepDetector ? { localDetector } : {}),
      family,
      nodeName,
      nodeIPs,
      nodeLabels: node?.metadata?.labels ?? {},
      ...(values["cluster-cidr"] !== undefined ? { clusterCIDR: values["cluster-cidr"] } : {}),
      ...(values["masquerade-all"] === true || kp === undefined
        ? { masqueradeAll: values["masquerade-all"] === true }
        : {}),
    });
  } catch (e) {
    if (e instanceof AddrError) throw new CliError(`${command}: --cluster-cidr: ${e.message}`, ExitCode.usage);
    throw e;
  }
  // A value kube-proxy cannot parse (an address) is skipped with its log line; the
  // object it came from is still used. Both are reported through the skip report.
  let current: KubeObject | undefined;
  const tracker = new ChangeTracker({
    family: config.family,
    nodeName: config.nodeName,
    log: (s) => skips.skip(`${s.object} ${s.field}`, current && sources.get(current), s.message, 1, "value"),
  });
  const record = (object: KubeObject, apply: () => void): void => {
    current = object;
    try {
      apply();
    } catch (e) {
      if (!(e instanceof ProxyModelError)) throw e;
      skips.skip(objectName(object), sources.get(object), e.message.slice(e.object.length + 2));
    }
  };
  const withSlices = new Set(
    given.map(
      (s) => `${s.metadata?.namespace ?? "default"}/${s.metadata?.labels?.["kubernetes.io/service-name"] ?? ""}`,
    ),
  );
  for (const s of services) {
    record(s, () => {
      const svc = defaultService(s);
      tracker.updateService(svc);
      if (withSlices.has(`${svc.metadata?.namespace ?? "default"}/${svc.metadata?.name ?? ""}`)) return;
      for (const slice of endpointSlicesFor(svc, pods, nodes.length > 0 ? { nodes } : {}))
        tracker.updateEndpointSlice(slice);
    });
  }
  for (const slice of given) record(slice, () => tracker.updateEndpointSlice(slice));
  skips.finish();
  return { config, state: tracker.state(), services };
}

function engineFor(
  mode: ProxyModeDefinition,
  inp: ProxyInputs,
  seed: number,
  values: ProxyValues,
  kp: KubeProxyConfiguration | undefined,
): ProxyEngine {
  let engine: ProxyEngine;
  try {
    engine = mode.create({
      config: inp.config,
      random: seededRandom(seed),
      now: () => 0,
      ...(kp !== undefined ? kubeProxyEngineOptions(kp, mode.name) : {}),
      ...hostOptions(mode, values),
      ...modeOptions(mode, values, inp.services),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`proxy: ${e.message}`);
    throw e;
  }
  engine.sync(inp.state, { full: true });
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
  const cmd = "proxy render";
  const { values, positionals } = parseFlags(argv, OPTIONS, cmd);
  if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument '${positionals[0]}'`);
  for (const f of ["src", "dst", "proto", "seed", "json", "output"] as const)
    if (values[f] !== undefined) throw new CliError(`${cmd}: --${f} is a trace flag (see 'knet proxy --help')`);
  const kp = kubeProxyConfig(values, cmd);
  const mode = modeOf(values.mode ?? (kp?.mode || undefined));
  if (values.artifact !== undefined && values.format !== undefined)
    throw new CliError(`${cmd}: --format is another name of --artifact: give one`);
  const flag = values.format !== undefined ? "--format" : "--artifact";
  const artifact = values.artifact ?? values.format;
  // Checked before the manifests are read, so a wrong name costs no work.
  if (artifact !== undefined && !ARTIFACTS[mode.name] && mode.artifacts.length <= 1)
    throw new CliError(`${cmd}: --mode ${mode.name} writes one artifact: drop ${flag}`);
  const bootstrap = BOOTSTRAPS[mode.name];
  if (values.bootstrap === true && bootstrap === undefined)
    throw new CliError(
      `${cmd}: --bootstrap is for ${Object.keys(BOOTSTRAPS)
        .map((m) => `--mode ${m}`)
        .join(", ")}`,
    );
  if (values.bootstrap === true && artifact !== undefined)
    throw new CliError(`${cmd}: --bootstrap and ${flag} do not go together: give one`);
  const engine = engineFor(mode, inputs(values, cmd, io, undefined, kp, mode), 1, values, kp);
  io.out(
    artifact !== undefined
      ? renderArtifact(mode, engine, artifact, flag)
      : values.bootstrap === true && bootstrap
        ? bootstrap(engine)
        : engine.render(),
  );
  return ExitCode.ok;
}

function trace(argv: readonly string[], io: Io): number {
  const cmd = "proxy trace";
  const { values, positionals } = parseFlags(argv, OPTIONS, cmd);
  if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument '${positionals[0]}'`);
  for (const f of ["artifact", "format", "bootstrap"] as const)
    if (values[f] !== undefined) throw new CliError(`${cmd}: --${f} is a render flag (see 'knet proxy --help')`);
  const format = outputFormat(values, cmd, ["json", "yaml"]);
  const kp = kubeProxyConfig(values, cmd);
  const mode = modeOf(values.mode ?? (kp?.mode || undefined));
  if (values.src === undefined) throw new CliError(`${cmd}: --src IP is required`);
  if (values.dst === undefined) throw new CliError(`${cmd}: --dst IP:PORT is required`);
  let src: Addr;
  try {
    src = Addr.parse(values.src);
  } catch (e) {
    throw new CliError(`${cmd}: --src: ${(e as Error).message}`);
  }
  const dst = parseDst(values.dst);
  if (src.family !== dst.addr.family) throw new CliError(`${cmd}: --src and --dst must be of the same IP family`);
  const proto = (values.proto ?? "tcp").toLowerCase();
  if (proto !== "tcp" && proto !== "udp" && proto !== "sctp")
    throw new CliError(`${cmd}: --proto '${values.proto}': use tcp, udp or sctp`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new CliError(`${cmd}: --seed '${values.seed}' is not an integer`);
  const engine = engineFor(mode, inputs(values, cmd, io, src.family, kp, mode), seed, values, kp);
  const packet: ProxyPacket = { src, dst: dst.addr, dport: dst.port, protocol: proto as Protocol };
  const { outcome, trace: steps } = engine.evaluate(packet);
  if (format === "json" || format === "yaml") {
    const doc = {
      mode: mode.name,
      packet: { src: src.toString(), dst: dst.addr.toString(), dport: dst.port, protocol: proto },
      outcome,
      trace: steps,
    };
    io.out(formatStructured(doc, format));
    return ExitCode.ok;
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
  return ExitCode.ok;
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
    if (sub === "run") return proxyRun(rest, io);
    if (sub === undefined) throw new CliError("proxy: missing subcommand: render or trace (see 'knet proxy --help')");
    throw new CliError(`proxy: unknown subcommand '${sub}': use render or trace`);
  },
};

import type { Namespace, Pod } from "@knet/k8s";
import {
  type CaptureConfig,
  captureFromPod,
  iptablesCapture,
  MeshError,
  nftablesCapture,
  parseIstioIptablesArgs,
} from "@knet/mesh";
import { CliError, type CommandFamily, type Io } from "../cli.js";
import { readInputs } from "../manifests.js";

const USAGE = `Usage: knet mesh capture [istio-iptables flags] [--format FORMAT]
       knet mesh capture -f FILE --pod NS/NAME [--dns-servers LIST] [--enable-ipv6] [--format FORMAT] [--strict]
       knet mesh pod -f FILE --pod NS/NAME [--dns-servers LIST] [--enable-ipv6] [--strict]

Sidecar traffic capture exactly as Istio writes it (see @knet/mesh).

capture   prints the rules istio-iptables (or istio-nftables) writes.
          Flags are istio-iptables' own, with the same names, shorthands,
          environment variables and meanings: -p -z -e -u -g -m -b -d -c -i -x
          -q -o -k -t -r --redirect-dns --capture-all-dns --drop-invalid
          --native-nftables; ISTIO_OUTBOUND_OWNER_GROUPS(_EXCLUDE) and
          ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR are read from the environment.
          What upstream detects on the host is given explicitly:
            --enable-ipv6          also write IPv6 rules
            --dns-servers LIST     the pod's nameservers (for --redirect-dns)
          With -f FILE --pod NS/NAME the flags come from the pod instead, as the
          sidecar injector writes them (annotations, mesh defaults); the pod's
          Namespace object, if in FILE, takes part in webhook selection. Objects
          of FILE the API server would reject, and kinds mesh does not read, are
          named on stderr and skipped; --strict fails (exit 2) instead.
pod       prints the injector's view of the pod as JSON: injected or not and why,
          the istio-init arguments, the capture configuration, the SPIFFE id.

--format FORMAT
  iptables          what 'istio-iptables --dry-run' records (default)
  iptables-restore  the IPv4 iptables-restore --noflush input
  ip6tables-restore the IPv6 input (needs --enable-ipv6)
  nftables          the nft -f transaction istio-nftables writes
                    (default when --native-nftables is given)

Exit codes: 0 printed, 1 the pod is not injected (reason on stderr), 2 bad input.
`;

type Format = "iptables" | "iptables-restore" | "ip6tables-restore" | "nftables";
const FORMATS: readonly Format[] = ["iptables", "iptables-restore", "ip6tables-restore", "nftables"];

/** Our own flags of `knet mesh capture|pod`, taken out before the rest is read as istio-iptables'. */
interface Own {
  format?: Format;
  files: string[];
  pod?: string;
  strict: boolean;
  help: boolean;
  rest: string[];
}

function takeOwn(argv: readonly string[]): Own {
  const own: Own = { files: [], help: false, strict: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf("=");
    const [name, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined) throw new CliError(`mesh: ${name} needs a value (see 'knet mesh --help')`, 2);
      i++;
      return v;
    };
    if (name === "--help" || name === "-h") own.help = true;
    else if (name === "--format") {
      const f = value();
      if (!(FORMATS as readonly string[]).includes(f)) {
        throw new CliError(`mesh: unknown --format '${f}': use ${FORMATS.join(", ")}`, 2);
      }
      own.format = f as Format;
    } else if (name === "-f" || name === "--filename") own.files.push(value());
    else if (name === "--pod") own.pod = value();
    else if (name === "--strict") own.strict = true;
    else own.rest.push(a);
  }
  return own;
}

function findPod(own: Own, ref: string, io: Io): { pod: Pod; namespace: Namespace | undefined } {
  const slash = ref.indexOf("/");
  if (slash <= 0 || slash === ref.length - 1) throw new CliError(`mesh: --pod wants NAMESPACE/NAME, got '${ref}'`, 2);
  const [nsName, name] = [ref.slice(0, slash), ref.slice(slash + 1)];
  const files = own.files;
  // As every command reads manifests: objects the API server would reject, and kinds
  // mesh does not read, are named on stderr and skipped (--strict: exit 2).
  const { objects, skips } = readInputs({ filename: files, strict: own.strict }, "mesh", io, { admission: "api" });
  skips.finish();
  const pod = objects.find(
    (o): o is Pod & { kind: "Pod" } =>
      o.kind === "Pod" && o.metadata?.name === name && (o.metadata?.namespace ?? "default") === nsName,
  );
  if (pod === undefined) throw new CliError(`mesh: no Pod ${ref} in ${files.join(", ")}`, 2);
  const namespace = objects.find(
    (o): o is Namespace & { kind: "Namespace" } => o.kind === "Namespace" && o.metadata?.name === nsName,
  );
  return { pod, namespace };
}

function print(io: Io, config: Partial<CaptureConfig>, format: Format): void {
  if (format === "nftables") {
    io.out(nftablesCapture(config).script);
    return;
  }
  const r = iptablesCapture(config);
  if (format === "iptables") io.out(r.dryRun);
  else if (format === "iptables-restore") io.out(r.v4);
  else if (r.v6 === undefined) throw new CliError("mesh: --format ip6tables-restore needs --enable-ipv6", 2);
  else io.out(r.v6);
}

async function run(argv: readonly string[], io: Io): Promise<number> {
  const [sub, ...args] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "capture" && sub !== "pod")
    throw new CliError(`mesh: unknown subcommand '${sub}' (see 'knet mesh --help')`, 2);
  const own = takeOwn(args);
  if (own.help) {
    io.out(USAGE);
    return 0;
  }
  try {
    const parsed = parseIstioIptablesArgs(own.rest, process.env);
    if (parsed.rest.length > 0) {
      throw new CliError(`mesh: unknown argument '${parsed.rest[0]}' (see 'knet mesh --help')`, 2);
    }
    if (own.pod === undefined) {
      if (sub === "pod") throw new CliError("mesh pod: needs -f FILE --pod NS/NAME", 2);
      if (own.files.length > 0) throw new CliError("mesh: -f FILE needs --pod NS/NAME", 2);
      print(io, parsed.config, own.format ?? (parsed.nativeNftables ? "nftables" : "iptables"));
      return 0;
    }
    if (own.files.length === 0) throw new CliError("mesh: --pod needs -f FILE", 2);
    const host = parsed.config;
    const extra = Object.keys(host).filter((k) => k !== "dnsServersV4" && k !== "dnsServersV6" && k !== "enableIpv6");
    if (extra.length > 0) {
      throw new CliError(
        `mesh: with --pod the istio-iptables flags come from the pod; only --dns-servers and --enable-ipv6 apply (got ${extra.join(", ")})`,
        2,
      );
    }
    const { pod, namespace } = findPod(own, own.pod, io);
    const c = captureFromPod(pod, {
      ...(namespace === undefined ? {} : { namespace }),
      dnsServers: [...(host.dnsServersV4 ?? []), ...(host.dnsServersV6 ?? [])],
      ...(host.enableIpv6 === undefined ? {} : { enableIpv6: host.enableIpv6 }),
    });
    if (sub === "pod") {
      io.out(`${JSON.stringify(c, null, 2)}\n`);
      return 0;
    }
    if (c.config === undefined) {
      io.err(`knet mesh: ${own.pod} gets no capture rules: ${c.reason}\n`);
      return 1;
    }
    print(io, c.config, own.format ?? (c.nativeNftables ? "nftables" : "iptables"));
    return 0;
  } catch (e) {
    if (e instanceof MeshError) throw new CliError(`mesh: ${e.message}`, 2);
    throw e;
  }
}

/** `knet mesh`: sidecar capture rules as istio-iptables / istio-nftables write them. */
export const meshCommand: CommandFamily = {
  name: "mesh",
  summary: "sidecar traffic capture as istio-iptables/istio-nftables write it, from flags or a pod",
  usage: USAGE,
  run,
};

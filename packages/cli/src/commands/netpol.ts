import { loadManifests, ManifestError } from "@knet/k8s";
import {
  compileNft,
  defaultProfile,
  diffReachability,
  explain,
  formatReachability,
  PolicyEngine,
  PolicyError,
  type PortSpec,
  parsePortSpec,
  reachability,
  strictProfile,
} from "@knet/netpol";
import { CliError, type CommandFamily, parseFlags } from "../cli.js";
import { readManifestTexts } from "../manifests.js";

const USAGE = `Usage: knet netpol <subcommand> -f FILE [-f FILE...] [flags]

NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy verdicts over
Pods, Namespaces, Nodes and policies read from manifests (YAML, JSON, Lists).

Subcommands:
  matrix   -f FILE [--ports 80/TCP,81/UDP] [--json]
           reachability of every ordered pod pair (egress and ingress applied).
           Text: one table per port, rows = clients, columns = servers,
           '.' allowed, 'X' blocked. --json prints one object
           {"pods": ["ns/pod", ...], "ports": ["80/TCP", ...],
            "allowed": {"80/TCP": [[true, false, ...], ...]}}
           where allowed[port][i][j] is pods[i] -> pods[j]; pods sorted by
           namespace then name. Default ports: 80/TCP,81/TCP.
  explain  -f FILE --from NS/POD|IP --to NS/POD|IP --port 80/TCP
           the verdict with its walkthrough per direction, e.g.
           "[ANP] Pass (...) -> [NPv1] Dropped (ns/policy)", and for a drop why
           each rule of the isolating policies missed. Exit 0 allowed, 1 denied,
           2 bad input.
  diff     -f FILE --add FILE [--add FILE...] [--ports 80/TCP,...] [--json]
           what-if: the cells whose verdict changes when the objects of the
           --add files (new policies, pods, labels...) join those of -f.
           One line per change: "80/TCP x/a -> x/b: allowed -> blocked".
           Exit 0 when nothing changes, 1 when something does, 2 bad input.
  compile  -f FILE [--table NAME]
           the nftables script (one inet table, replaced atomically by nft -f)
           that enforces the policies on the node or router forwarding between
           the pods.

Flags:
  -f, --filename FILE   manifest file ('-' for stdin); repeatable
      --profile NAME    undefined areas: default (pod->itself and node traffic
                        allowed, hostNetwork pods are node traffic) or strict
`;

const FLAGS = {
  filename: { type: "string", short: "f", multiple: true },
  ports: { type: "string" },
  port: { type: "string" },
  json: { type: "boolean" },
  from: { type: "string" },
  to: { type: "string" },
  table: { type: "string" },
  add: { type: "string", multiple: true },
  profile: { type: "string" },
} as const;

function load(files: readonly string[], profileName: string | undefined): PolicyEngine {
  const profile =
    profileName === undefined || profileName === "default"
      ? defaultProfile
      : profileName === "strict"
        ? strictProfile
        : undefined;
  if (profile === undefined) throw new CliError(`netpol: unknown --profile '${profileName}': use default or strict`, 2);
  const texts = readManifestTexts(files, "netpol");
  try {
    return PolicyEngine.fromObjects(loadManifests(texts, { skipUnknownKinds: true }), { profile });
  } catch (e) {
    // Unreadable manifests, policies the API server would reject, or an
    // inconsistent cluster (a pod listed twice): all bad input.
    const what = e instanceof ManifestError || e instanceof PolicyError ? "" : "invalid input: ";
    throw new CliError(`netpol: ${what}${(e as Error).message.split("\n")[0]}`, 2);
  }
}

function port(text: string, flag: string): PortSpec {
  try {
    return parsePortSpec(text);
  } catch (e) {
    throw new CliError(`netpol: ${flag}: ${(e as Error).message}`, 2);
  }
}

/** `knet netpol`: reachability matrices, explained verdicts and nftables compilation. */
export const netpolCommand: CommandFamily = {
  name: "netpol",
  summary: "NetworkPolicy/ANP/BANP reachability matrices, explained verdicts, what-if diffs, nftables",
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined)
      throw new CliError("netpol: missing subcommand: matrix, explain or compile (see 'knet netpol --help')", 2);
    if (sub !== "matrix" && sub !== "explain" && sub !== "compile" && sub !== "diff") {
      throw new CliError(`netpol: unknown subcommand '${sub}': use matrix, explain, diff or compile`, 2);
    }
    const { values, positionals } = parseFlags(rest, FLAGS, `netpol ${sub}`);
    if (positionals.length > 0) throw new CliError(`netpol ${sub}: unexpected argument '${positionals[0]}'`, 2);
    const engine = load(values.filename ?? [], values.profile);

    const ports = (values.ports ?? "80/TCP,81/TCP")
      .split(",")
      .filter((s) => s.trim() !== "")
      .map((s) => port(s, "--ports"));
    if (ports.length === 0) throw new CliError(`netpol ${sub}: --ports is empty`, 2);

    if (sub === "diff") {
      const add = values.add ?? [];
      if (add.length === 0)
        throw new CliError("netpol diff: give --add FILE with the objects to try (see 'knet netpol --help')", 2);
      const after = load([...(values.filename ?? []), ...add], values.profile);
      const changes = diffReachability(reachability(engine, { ports }), reachability(after, { ports }));
      const word = (v: boolean | undefined): string => (v === undefined ? "absent" : v ? "allowed" : "blocked");
      if (values.json === true) io.out(`${JSON.stringify({ changes })}\n`);
      else for (const c of changes) io.out(`${c.port} ${c.from} -> ${c.to}: ${word(c.a)} -> ${word(c.b)}\n`);
      return changes.length === 0 ? 0 : 1;
    }

    if (sub === "matrix") {
      const r = reachability(engine, { ports });
      io.out(
        values.json === true
          ? `${JSON.stringify({ pods: r.pods, ports: r.ports, allowed: r.allowed })}\n`
          : formatReachability(r),
      );
      return 0;
    }

    if (sub === "explain") {
      const { from, to } = values;
      if (from === undefined || to === undefined || values.port === undefined) {
        throw new CliError("netpol explain: --from, --to and --port are required (see 'knet netpol --help')", 2);
      }
      const p = port(values.port, "--port");
      let v: ReturnType<PolicyEngine["verdict"]>;
      try {
        v = engine.verdict({ from, to, protocol: p.protocol, port: p.port });
      } catch (e) {
        throw new CliError(`netpol explain: ${(e as Error).message}`, 2);
      }
      io.out(explain(v));
      return v.allowed ? 0 : 1;
    }

    if (values.table !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(values.table)) {
      throw new CliError(`netpol compile: --table '${values.table}' must be letters, digits and '_'`, 2);
    }
    const nft = compileNft(engine, values.table === undefined ? {} : { table: values.table });
    io.out(nft.text);
    return 0;
  },
};

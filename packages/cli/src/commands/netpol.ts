import type { KubeObject, ManifestText, Pod } from "@knet/k8s";
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
  type Reachability,
  reachability,
  strictProfile,
} from "@knet/netpol";
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
import { INPUT_FLAGS, LIVE_FLAGS, liveTexts, NAMESPACE_FLAG, readInputs } from "../manifests.js";

const USAGE = `Usage: knet netpol <subcommand> -f FILE [-f FILE...] [flags]

NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy verdicts over
Pods, Namespaces, Nodes and policies read from manifests (YAML, JSON, Lists).

Subcommands:
  matrix   -f FILE [-n NS] [--ports 80/TCP,81/UDP] [-o json|yaml|wide]
           reachability of every ordered pod pair (egress and ingress applied).
           Text: one table per port, rows = clients, columns = servers
           (numbered, with a legend, wrapped to the terminal's width; -o wide:
           columns headed by the pod names, never wrapped), '.' allowed,
           'X' blocked. -o json prints one object
           {"pods": ["ns/pod", ...], "ports": ["80/TCP", ...],
            "allowed": {"80/TCP": [[true, false, ...], ...]}}
           where allowed[port][i][j] is pods[i] -> pods[j]; pods sorted by
           namespace then name. -n NS: only the pods of NS.
           Default ports: the container ports the selected pods declare
           (80/TCP,81/TCP when they declare none).
  explain  -f FILE --from [NS/]POD|IP --to [NS/]POD|IP --port 80/TCP [-n NS] [-o json|yaml]
           the verdict with its walkthrough per direction, e.g.
           "[ANP] Pass (...) -> [NPv1] Dropped (ns/policy)", and for a drop why
           each rule of the isolating policies missed. Exit 0 allowed, 1 denied,
           2 bad input.
  diff     -f FILE --add FILE [--add FILE...] [--ports 80/TCP,...] [-o json|yaml]
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
      --kubeconfig PATH [--context NAME]  read a live cluster (what its API server lists)
                        instead of files, or as well as them
      --strict          fail (exit 2) instead of skipping objects the API server would reject
  -n, --namespace NS    pods named without NS/ are in NS; matrix and diff show only NS's pods
  -o, --output FORMAT   as listed per subcommand (--json: same as -o json)
      --profile NAME    undefined areas: default (pod->itself and node traffic
                        allowed, hostNetwork pods are node traffic) or strict
`;

const FLAGS = {
  ...INPUT_FLAGS,
  ...LIVE_FLAGS,
  ...NAMESPACE_FLAG,
  ...OUTPUT_FLAGS,
  ports: { type: "string" },
  port: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  table: { type: "string" },
  add: { type: "string", multiple: true },
  profile: { type: "string" },
} as const;

type NetpolValues = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

interface Loaded {
  readonly engine: PolicyEngine;
  readonly objects: readonly KubeObject[];
}

function load(
  values: NetpolValues,
  files: string[],
  cmd: string,
  io: Io,
  live: readonly ManifestText[] | undefined,
): Loaded {
  const profileName = values.profile;
  const profile =
    profileName === undefined || profileName === "default"
      ? defaultProfile
      : profileName === "strict"
        ? strictProfile
        : undefined;
  if (profile === undefined) throw new CliError(`netpol: unknown --profile '${profileName}': use default or strict`);
  const { objects, skips } = readInputs({ ...values, filename: files }, cmd, io, { admission: "api", live });
  skips.finish();
  try {
    return { engine: PolicyEngine.fromObjects(objects, { profile }), objects };
  } catch (e) {
    // Policies the API server would reject, or an inconsistent cluster: bad input.
    const what = e instanceof PolicyError ? "" : "invalid input: ";
    throw new CliError(`${cmd}: ${what}${(e as Error).message.split("\n")[0]}`);
  }
}

/** The pods a matrix shows: all of them, or those of `-n NS`. */
function selectedPods(r: { objects: readonly KubeObject[] }, namespace: string | undefined): string[] | undefined {
  if (namespace === undefined) return undefined;
  return r.objects
    .filter((o): o is Pod => o.kind === "Pod" && (o.metadata?.namespace ?? "default") === namespace)
    .map((p) => `${namespace}/${p.metadata?.name ?? ""}`)
    .sort();
}

/** The container ports the pods declare, as `80/TCP`, sorted by protocol then port. */
function declaredPorts(objects: readonly KubeObject[], pods: readonly string[] | undefined): PortSpec[] {
  const want = pods === undefined ? undefined : new Set(pods);
  const seen = new Map<string, PortSpec>();
  for (const o of objects) {
    if (o.kind !== "Pod") continue;
    if (want !== undefined && !want.has(`${o.metadata?.namespace ?? "default"}/${o.metadata?.name ?? ""}`)) continue;
    for (const c of [...(o.spec?.initContainers ?? []), ...(o.spec?.containers ?? [])])
      for (const p of c.ports ?? []) {
        const protocol = (p.protocol ?? "TCP") as PortSpec["protocol"];
        seen.set(`${p.containerPort}/${protocol}`, { port: p.containerPort, protocol });
      }
  }
  return [...seen.values()].sort((a, b) =>
    a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port,
  );
}

/**
 * A matrix that fits `width` columns: rows named by pod, columns numbered (with
 * a legend), split into blocks of columns when there are more than fit.
 */
function formatMatrixFitted(r: Reachability, width: number): string {
  const nameW = Math.max(3, ...r.pods.map((p, i) => `${i + 1} ${p}`.length));
  const cellW = String(r.pods.length).length + 1;
  const perBlock = Math.max(1, Math.floor((width - nameW) / cellW));
  let out = "";
  r.pods.forEach((p, i) => {
    out += `${String(i + 1).padStart(cellW - 1)} = ${p}\n`;
  });
  for (const port of r.ports) {
    const m = r.allowed[port] ?? [];
    for (let start = 0; start < r.pods.length; start += perBlock) {
      const cols = r.pods.slice(start, start + perBlock).map((_, k) => start + k);
      const range = r.pods.length > perBlock ? ` (servers ${start + 1}-${start + cols.length})` : "";
      out += `${port}${range}\n${`${"".padEnd(nameW)}${cols.map((j) => String(j + 1).padStart(cellW)).join("")}`}\n`;
      r.pods.forEach((from, i) => {
        out += `${`${i + 1} ${from}`.padEnd(nameW)}${cols.map((j) => (m[i]?.[j] ? "." : "X").padStart(cellW)).join("")}\n`;
      });
    }
  }
  return out;
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
      throw new CliError("netpol: missing subcommand: matrix, explain, diff or compile (see 'knet netpol --help')");
    if (sub !== "matrix" && sub !== "explain" && sub !== "compile" && sub !== "diff") {
      throw new CliError(`netpol: unknown subcommand '${sub}': use matrix, explain, diff or compile`);
    }
    const cmd = `netpol ${sub}`;
    const { values, positionals } = parseFlags(rest, FLAGS, cmd);
    if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument '${positionals[0]}'`);
    const format = outputFormat(
      values,
      cmd,
      sub === "matrix" ? ["json", "yaml", "wide"] : sub === "compile" ? [] : ["json", "yaml"],
    );
    const live = await liveTexts(values, cmd);
    const before = load(values, values.filename ?? [], cmd, io, live);
    const engine = before.engine;
    const ns = values.namespace;
    const pods = selectedPods(before, ns);
    const portsOf = (objects: readonly KubeObject[]): PortSpec[] => {
      if (values.ports !== undefined) {
        const list = values.ports
          .split(",")
          .filter((s) => s.trim() !== "")
          .map((s) => port(s, "--ports"));
        if (list.length === 0) throw new CliError(`${cmd}: --ports is empty`);
        return list;
      }
      const declared = declaredPorts(objects, pods);
      return declared.length > 0
        ? declared
        : [
            { port: 80, protocol: "TCP" },
            { port: 81, protocol: "TCP" },
          ];
    };

    if (sub === "diff") {
      const add = values.add ?? [];
      if (add.length === 0)
        throw new CliError("netpol diff: give --add FILE with the objects to try (see 'knet netpol --help')");
      const after = load(values, [...(values.filename ?? []), ...add], cmd, io, live);
      const ports = portsOf(after.objects);
      const options = { ports, ...(pods !== undefined ? { pods } : {}) };
      const changes = diffReachability(reachability(engine, options), reachability(after.engine, options));
      const word = (v: boolean | undefined): string => (v === undefined ? "absent" : v ? "allowed" : "blocked");
      if (format === "json") io.out(`${JSON.stringify({ changes })}\n`);
      else if (format === "yaml") io.out(formatStructured({ changes }, "yaml"));
      else for (const c of changes) io.out(`${c.port} ${c.from} -> ${c.to}: ${word(c.a)} -> ${word(c.b)}\n`);
      return changes.length === 0 ? ExitCode.ok : ExitCode.negative;
    }

    if (sub === "matrix") {
      const r = reachability(engine, { ports: portsOf(before.objects), ...(pods !== undefined ? { pods } : {}) });
      const doc = { pods: r.pods, ports: r.ports, allowed: r.allowed };
      if (format === "json") io.out(`${JSON.stringify(doc)}\n`);
      else if (format === "yaml") io.out(formatStructured(doc, "yaml"));
      else if (format === "wide") io.out(formatReachability(r));
      else io.out(formatMatrixFitted(r, terminalWidth()));
      return ExitCode.ok;
    }

    if (sub === "explain") {
      const { from, to } = values;
      if (from === undefined || to === undefined || values.port === undefined) {
        throw new CliError("netpol explain: --from, --to and --port are required (see 'knet netpol --help')");
      }
      const p = port(values.port, "--port");
      const qualify = (t: string): string =>
        ns === undefined || t.includes("/") || /^[0-9a-f:.]+$/i.test(t) ? t : `${ns}/${t}`;
      let v: ReturnType<PolicyEngine["verdict"]>;
      try {
        v = engine.verdict({ from: qualify(from), to: qualify(to), protocol: p.protocol, port: p.port });
      } catch (e) {
        throw new CliError(`netpol explain: ${(e as Error).message}`);
      }
      if (format === "json" || format === "yaml") io.out(formatStructured(v, format));
      else io.out(explain(v));
      return v.allowed ? ExitCode.ok : ExitCode.negative;
    }

    if (values.table !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(values.table)) {
      throw new CliError(`netpol compile: --table '${values.table}' must be letters, digits and '_'`);
    }
    const nft = compileNft(engine, values.table === undefined ? {} : { table: values.table });
    io.out(nft.text);
    return ExitCode.ok;
  },
};

/** Columns of the terminal on stdout, or 80 (also when piped). */
function terminalWidth(): number {
  const c = process.stdout.columns;
  return typeof c === "number" && c > 20 ? c : 80;
}

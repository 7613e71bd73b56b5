import {
  type ConfigError,
  DnsIndex,
  DnsServer,
  defaultCorefile,
  expandQuery,
  explainSearch,
  formatResponse,
  type PodMode,
  Rcode,
  type ResolvConf,
  rcodeName,
  registerServiceImport,
  resolvConfFor,
  resolve,
  type ServiceImport,
  typeCode,
  watchClusterState,
} from "@knet/coredns-lite";
import { ClusterSource, ClusterState, loadKubeconfig, StateError } from "@knet/k8s";
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

const USAGE = `Usage: knet dns <subcommand> -f FILE [-f FILE...] [flags]

Cluster DNS (the Kubernetes DNS specification, CoreDNS's kubernetes plugin)
over Services, EndpointSlices, Pods and Namespaces read from manifests.
EndpointSlices are derived from Services and Pods when the files have none.

Subcommands:
  serve -f FILE --listen HOST:PORT [--zone cluster.local] [--ttl N]
        serve DNS on UDP and TCP at HOST:PORT (e.g. 127.0.0.1:5353) until
        SIGINT/SIGTERM. Ask it with: dig @127.0.0.1 -p 5353 svc.ns.svc.cluster.local
  serve --kubeconfig PATH [--context NAME] --listen HOST:PORT
        serve a live cluster: list+watch its API server (as CoreDNS's kubernetes
        plugin does) and answer from what it holds; serving starts after the
        first full sync, and changes show within milliseconds
  query -f FILE NAME [TYPE] [-n NS] [--zone cluster.local] [--ttl N] [-o json|yaml]
        print the answer (rcode, flags, sections) without a socket. TYPE
        defaults to A. With -n/--namespace, NAME is looked up as a pod in NS
        would: glibc's resolver tries NAME with each search domain of the pod's
        resolv.conf first (search NS.svc.ZONE svc.ZONE ZONE, options ndots:5:
        a name with fewer than 5 dots is tried with the search list before it
        is tried as written), showing every name tried.
        Exit 0 when the last name tried has an answer, 1 when it has none
        (NXDOMAIN, no data, a failure), 2 bad input.

Flags:
  -f, --filename FILE   manifest file ('-' for stdin); repeatable
      --strict          fail (exit 2) instead of skipping objects the API server would reject
  -n, --namespace NS    query: look NAME up as a pod in NS would
  -o, --output FORMAT   query: json | yaml (--json: same as -o json)
      --listen HOST:PORT  where to serve (required for serve; no default host)
      --zone ZONE       cluster domain (default cluster.local)
      --ttl N           answer TTL in seconds, 0-3600 (default 5)
      --pods MODE       pod records: disabled (default), insecure, verified
      --config FILE     serve with this Corefile instead of the default one
      --kubeconfig PATH serve: follow the API server of this kubeconfig instead of files
      --context NAME    the kubeconfig context (default: its current-context)
      --ready HOST:PORT serve: CoreDNS's ready plugin there (e.g. 127.0.0.1:8181): GET /ready
                        answers 503 until the first full sync (queries get SERVFAIL until
                        then, as CoreDNS's kubernetes plugin), 200 after
`;

const FLAGS = {
  ...INPUT_FLAGS,
  ...NAMESPACE_FLAG,
  ...OUTPUT_FLAGS,
  listen: { type: "string" },
  zone: { type: "string" },
  ttl: { type: "string" },
  pods: { type: "string" },
  config: { type: "string" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  ready: { type: "string" },
} as const;

type DnsValues = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

function loadIndex(values: DnsValues, cmd: string, io: Io): DnsIndex {
  // ServiceImports (for `multicluster` zones) are a CRD coredns-lite registers with @knet/k8s.
  registerServiceImport();
  const { objects, extensions, skips } = readInputs(values, cmd, io, {
    admission: "api",
    extensions: ["ServiceImport"],
  });
  skips.finish();
  try {
    const state = new ClusterState();
    state.applyAll(objects);
    const index = new DnsIndex();
    watchClusterState(index, state);
    for (const e of extensions) index.upsert(e as ServiceImport);
    return index;
  } catch (e) {
    if (e instanceof StateError) throw new CliError(`${cmd}: ${e.message.split("\n")[0]}`);
    throw e;
  }
}

function parseTtl(text: string | undefined, cmd: string): number {
  if (text === undefined) return 5;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 3600) throw new CliError(`${cmd}: --ttl must be an integer 0-3600, got '${text}'`, 2);
  return n;
}

function parseZone(text: string | undefined, cmd: string): string {
  const z = (text ?? "cluster.local").replace(/\.$/, "").toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(z)) {
    throw new CliError(`${cmd}: --zone '${text}' is not a domain name`, 2);
  }
  return z;
}

function parsePods(text: string | undefined, cmd: string): PodMode {
  const m = text ?? "disabled";
  if (m !== "disabled" && m !== "insecure" && m !== "verified") {
    throw new CliError(`${cmd}: --pods must be disabled, insecure or verified`, 2);
  }
  return m;
}

function parseListen(text: string | undefined): { host: string; port: number } {
  if (text === undefined) throw new CliError("dns serve: --listen HOST:PORT is required (e.g. 127.0.0.1:5353)", 2);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port > 65535)
    throw new CliError(`dns serve: --listen '${text}' must be HOST:PORT, e.g. 127.0.0.1:5353`, 2);
  return { host: (m[1] ?? m[2]) as string, port };
}

async function serve(values: DnsValues, io: Io): Promise<number> {
  const cmd = "dns serve";
  for (const f of ["namespace", "output", "json"] as const)
    if (values[f] !== undefined) throw new CliError(`${cmd}: --${f} is a query flag (see 'knet dns --help')`);
  const listen = parseListen(values.listen);
  const zone = parseZone(values.zone, cmd);
  const ttl = parseTtl(values.ttl, cmd);
  const pods = parsePods(values.pods, cmd);
  let source: ClusterSource | undefined;
  let index: DnsIndex;
  let server: string | undefined;
  if (values.kubeconfig !== undefined) {
    if (values.filename !== undefined) throw new CliError(`${cmd}: give -f FILE or --kubeconfig PATH, not both`);
    let conn: ReturnType<typeof loadKubeconfig>;
    try {
      conn = loadKubeconfig(values.kubeconfig, values.context);
    } catch (e) {
      throw new CliError(`${cmd}: ${(e as Error).message}`);
    }
    // The server already defaulted what it stores, and its controllers write the slices.
    const state = new ClusterState({ applyDefaults: false, endpointSliceController: false });
    // Not ready (SERVFAIL, /ready 503) until the first full list is in, as CoreDNS.
    index = new DnsIndex({ synced: false });
    watchClusterState(index, state);
    source = new ClusterSource(conn, state, { log: (l) => io.err(`${l}\n`) });
    server = conn.server;
  } else {
    index = loadIndex(values, cmd, io);
  }
  let config = defaultCorefile(zone, ttl);
  if (pods !== "disabled") config = config.replace(`ttl ${ttl}`, `ttl ${ttl}\n    pods ${pods}`);
  if (values.ready !== undefined) {
    if (values.config !== undefined)
      throw new CliError(`${cmd}: --ready goes with the default Corefile: add 'ready' to --config's`);
    config = config.replace("  errors\n", `  errors\n  ready ${values.ready}\n`);
  }
  // A Corefile is read by the server from its path, so `reload` can re-read it.
  const configFile = values.config;
  let dns: DnsServer;
  let fatal: Error | undefined;
  let stopServing = (): void => {};
  try {
    dns = new DnsServer({
      index,
      ...(configFile === undefined ? { config } : { configFile }),
      listen,
      logSink: (l) => io.err(`${l}\n`),
      onFatal: (e) => {
        fatal = e;
        stopServing();
      },
    });
    await dns.start();
  } catch (e) {
    source?.stop();
    const err = e as NodeJS.ErrnoException | ConfigError;
    throw new CliError(
      `${cmd}: ${"code" in err && err.code !== undefined ? `${err.code} on ${listen.host}:${listen.port}` : err.message}`,
      ExitCode.negative,
    );
  }
  if (source !== undefined) {
    try {
      await source.start();
    } catch (e) {
      source.stop();
      await dns.stop();
      throw new CliError(`${cmd}: ${server}: ${(e as Error).message}`, ExitCode.negative);
    }
    index.setSynced(true);
    io.err(`knet dns: synced with ${server}\n`);
  }
  const a = dns.address();
  const services = [...index.allServices()].length;
  io.out(`knet dns: serving ${zone} (${services} services) on udp+tcp ${a.host}:${a.port}\n`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    stopServing = stop;
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  source?.stop();
  await dns.stop();
  if (fatal !== undefined) return ExitCode.negative;
  io.out("knet dns: stopped\n");
  return 0;
}

function query(values: DnsValues, positionals: string[], io: Io): number {
  const cmd = "dns query";
  const [name, type = "A", extra] = positionals;
  if (name === undefined) throw new CliError(`${cmd}: missing NAME (see 'knet dns --help')`);
  if (extra !== undefined) throw new CliError(`${cmd}: unexpected argument '${extra}'`);
  if (typeCode(type) === undefined) throw new CliError(`${cmd}: unknown type '${type}'`);
  if (values.listen !== undefined) throw new CliError(`${cmd}: --listen is a serve flag (see 'knet dns --help')`);
  const format = outputFormat(values, cmd, ["json", "yaml"]);
  const zone = parseZone(values.zone, cmd);
  const ttl = parseTtl(values.ttl, cmd);
  const pods = parsePods(values.pods, cmd);
  const index = loadIndex(values, cmd, io);
  const options = { zones: [zone, "in-addr.arpa", "ip6.arpa"], ttl, pods };
  const ns = values.namespace;
  let candidates = [name.endsWith(".") ? name : `${name}.`];
  let search: readonly string[] = [];
  let conf: ResolvConf | undefined;
  if (ns !== undefined) {
    conf = resolvConfFor(
      { metadata: { name: "query", namespace: ns } },
      { clusterDomain: zone, clusterDNS: ["10.96.0.10"] },
    ).resolvConf;
    search = conf.searches;
    candidates = expandQuery(name, conf, "glibc");
  }
  const tried: { name: string; rcode: string; answers: number }[] = [];
  let last = resolve(index, { name: candidates[0] as string, type }, options);
  for (const c of candidates) {
    last = resolve(index, { name: c, type }, options);
    tried.push({ name: c, rcode: rcodeName(last.rcode), answers: last.answer.length });
    // glibc goes on past NXDOMAIN, NODATA and SERVFAIL, and stops at an answer or any other rcode.
    if (last.answer.length > 0) break;
    if (last.rcode !== Rcode.NXDOMAIN && last.rcode !== Rcode.NOERROR && last.rcode !== Rcode.SERVFAIL) break;
  }
  const code = last.answer.length > 0 ? ExitCode.ok : ExitCode.negative;
  if (format === "json" || format === "yaml") {
    io.out(
      formatStructured(
        { question: { name, type }, ...(ns !== undefined ? { namespace: ns, search, tried } : {}), response: last },
        format,
      ),
    );
    return code;
  }
  if (conf !== undefined) {
    io.out(
      `;; a pod in namespace ${ns} has 'search ${search.join(" ")}' and 'options ${conf.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(" ")}' in its resolv.conf:\n;; ${explainSearch(name, conf)}\n`,
    );
    for (const t of tried) {
      const note = t.answers === 0 && t.rcode === "NOERROR" ? " (no data)" : "";
      io.out(`;; tried ${t.name} ${type}: ${t.rcode}${note}\n`);
    }
  }
  io.out(formatResponse(last));
  return code;
}

/** `knet dns`: serve cluster DNS from manifests, or ask it without a socket. */
export const dnsCommand: CommandFamily = {
  name: "dns",
  summary: "cluster DNS from manifests: serve it on UDP/TCP, or query it",
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined) throw new CliError("dns: missing subcommand: serve or query (see 'knet dns --help')");
    if (sub !== "serve" && sub !== "query") throw new CliError(`dns: unknown subcommand '${sub}': use serve or query`);
    const { values, positionals } = parseFlags(rest, FLAGS, `dns ${sub}`);
    if (sub === "serve") {
      if (positionals.length > 0) throw new CliError(`dns serve: unexpected argument '${positionals[0]}'`);
      return serve(values, io);
    }
    return query(values, positionals, io);
  },
};

import {
  type ConfigError,
  DnsIndex,
  DnsServer,
  defaultCorefile,
  expandQuery,
  formatResponse,
  type PodMode,
  Rcode,
  rcodeName,
  registerServiceImport,
  resolvConfFor,
  resolve,
  type ServiceImport,
  typeCode,
  watchClusterState,
} from "@knet/coredns-lite";
import { ClusterState, ManifestError, parseManifests } from "@knet/k8s";
import { CliError, type CommandFamily, type Io, parseFlags } from "../cli.js";
import { readManifestTexts } from "../manifests.js";

const USAGE = `Usage: knet dns <subcommand> -f FILE [-f FILE...] [flags]

Cluster DNS (the Kubernetes DNS specification, CoreDNS's kubernetes plugin)
over Services, EndpointSlices, Pods and Namespaces read from manifests.
EndpointSlices are derived from Services and Pods when the files have none.

Subcommands:
  serve -f FILE --listen HOST:PORT [--zone cluster.local] [--ttl N]
        serve DNS on UDP and TCP at HOST:PORT (e.g. 127.0.0.1:5353) until
        SIGINT/SIGTERM. Ask it with: dig @127.0.0.1 -p 5353 svc.ns.svc.cluster.local
  query -f FILE NAME [TYPE] [--namespace NS] [--zone cluster.local] [--ttl N]
        print the answer (rcode, flags, sections) without a socket. TYPE
        defaults to A. With --namespace, NAME is looked up as a pod in NS
        would (its search list, ndots:5), showing every name tried.

Flags:
  -f, --filename FILE   manifest file ('-' for stdin); repeatable
      --listen HOST:PORT  where to serve (required for serve; no default host)
      --zone ZONE       cluster domain (default cluster.local)
      --ttl N           answer TTL in seconds, 0-3600 (default 5)
      --pods MODE       pod records: disabled (default), insecure, verified
      --config FILE     serve with this Corefile instead of the default one
`;

const FLAGS = {
  filename: { type: "string", short: "f", multiple: true },
  listen: { type: "string" },
  zone: { type: "string" },
  ttl: { type: "string" },
  namespace: { type: "string" },
  pods: { type: "string" },
  config: { type: "string" },
} as const;

function loadIndex(files: readonly string[], cmd: string): DnsIndex {
  const texts = readManifestTexts(files, cmd);
  try {
    // ServiceImports (for `multicluster` zones) are a CRD coredns-lite registers with @knet/k8s.
    registerServiceImport();
    const { objects, extensions, problems } = parseManifests(texts);
    const fatal = problems.filter((p) => p.code !== "unknown-kind");
    if (fatal.length > 0) throw new ManifestError(fatal);
    const state = new ClusterState();
    state.applyAll(objects.map((o) => o.object));
    const index = new DnsIndex();
    watchClusterState(index, state);
    for (const e of extensions) if (e.object.kind === "ServiceImport") index.upsert(e.object as ServiceImport);
    return index;
  } catch (e) {
    if (e instanceof ManifestError) throw new CliError(`${cmd}: ${e.message.split("\n")[0]}`, 2);
    throw new CliError(`${cmd}: ${(e as Error).message.split("\n")[0]}`, 1);
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

async function serve(values: Record<string, unknown>, io: Io): Promise<number> {
  const cmd = "dns serve";
  const listen = parseListen(values.listen as string | undefined);
  const zone = parseZone(values.zone as string | undefined, cmd);
  const ttl = parseTtl(values.ttl as string | undefined, cmd);
  const pods = parsePods(values.pods as string | undefined, cmd);
  const index = loadIndex((values.filename as string[] | undefined) ?? [], cmd);
  let config = defaultCorefile(zone, ttl);
  if (pods !== "disabled") config = config.replace(`ttl ${ttl}`, `ttl ${ttl}\n    pods ${pods}`);
  // A Corefile is read by the server from its path, so `reload` can re-read it.
  const configFile = values.config as string | undefined;
  let server: DnsServer;
  let fatal: Error | undefined;
  let stopServing = (): void => {};
  try {
    server = new DnsServer({
      index,
      ...(configFile === undefined ? { config } : { configFile }),
      listen,
      logSink: (l) => io.err(`${l}\n`),
      onFatal: (e) => {
        fatal = e;
        stopServing();
      },
    });
    await server.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException | ConfigError;
    throw new CliError(
      `${cmd}: ${"code" in err && err.code !== undefined ? `${err.code} on ${listen.host}:${listen.port}` : err.message}`,
      1,
    );
  }
  const a = server.address();
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
  await server.stop();
  if (fatal !== undefined) return 1;
  io.out("knet dns: stopped\n");
  return 0;
}

function query(values: Record<string, unknown>, positionals: string[], io: Io): number {
  const cmd = "dns query";
  const [name, type = "A", extra] = positionals;
  if (name === undefined) throw new CliError(`${cmd}: missing NAME (see 'knet dns --help')`, 2);
  if (extra !== undefined) throw new CliError(`${cmd}: unexpected argument '${extra}'`, 2);
  if (typeCode(type) === undefined) throw new CliError(`${cmd}: unknown type '${type}'`, 2);
  const zone = parseZone(values.zone as string | undefined, cmd);
  const ttl = parseTtl(values.ttl as string | undefined, cmd);
  const pods = parsePods(values.pods as string | undefined, cmd);
  const index = loadIndex((values.filename as string[] | undefined) ?? [], cmd);
  const options = { zones: [zone, "in-addr.arpa", "ip6.arpa"], ttl, pods };
  const ns = values.namespace as string | undefined;
  let candidates = [name.endsWith(".") ? name : `${name}.`];
  if (ns !== undefined) {
    const conf = resolvConfFor(
      { metadata: { name: "query", namespace: ns } },
      { clusterDomain: zone, clusterDNS: ["10.96.0.10"] },
    );
    candidates = expandQuery(name, conf.resolvConf, "glibc");
  }
  let last = resolve(index, { name: candidates[0] as string, type }, options);
  for (const c of candidates) {
    last = resolve(index, { name: c, type }, options);
    if (candidates.length > 1) {
      const note = last.answer.length === 0 && last.rcode === Rcode.NOERROR ? " (no data)" : "";
      io.out(`;; tried ${c} ${type}: ${rcodeName(last.rcode)}${note}\n`);
    }
    // glibc goes on past NXDOMAIN, NODATA and SERVFAIL, and stops at an answer or any other rcode.
    if (last.answer.length > 0) break;
    if (last.rcode !== Rcode.NXDOMAIN && last.rcode !== Rcode.NOERROR && last.rcode !== Rcode.SERVFAIL) break;
  }
  io.out(formatResponse(last));
  return 0;
}

/** `knet dns`: serve cluster DNS from manifests, or ask it without a socket. */
export const dnsCommand: CommandFamily = {
  name: "dns",
  summary: "cluster DNS from manifests: serve it on UDP/TCP, or query it",
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined) throw new CliError("dns: missing subcommand: serve or query (see 'knet dns --help')", 2);
    if (sub !== "serve" && sub !== "query")
      throw new CliError(`dns: unknown subcommand '${sub}': use serve or query`, 2);
    const { values, positionals } = parseFlags(rest, FLAGS, `dns ${sub}`);
    if (sub === "serve") {
      if (positionals.length > 0) throw new CliError(`dns serve: unexpected argument '${positionals[0]}'`, 2);
      return serve(values, io);
    }
    return query(values, positionals, io);
  },
};

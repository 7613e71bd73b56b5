import {
  buildGatewayModel,
  type Condition,
  type GatewayModel,
  GatewayServer,
  gatewayStatus,
  KNET_CONTROLLER_NAME,
  loadGatewayInputs,
  type RouteDecision,
  Router,
  type ServerListen,
} from "@knet/gateway";
import { ManifestError } from "@knet/k8s";
import { CliError, type CommandFamily, type Io, parseFlags } from "../cli.js";
import { readManifestTexts, Skips } from "../manifests.js";

const USAGE = `Usage: knet gateway <subcommand> -f FILE [-f FILE...] [flags]

Gateway API (GatewayClass, Gateway, HTTPRoute, ReferenceGrant) and Ingress
routing as knet's controller (controllerName ${KNET_CONTROLLER_NAME}) does it,
over manifests (YAML, JSON, Lists; Services, EndpointSlices, Namespaces and TLS
Secrets are read too, other kinds ignored).

Subcommands:
  route   -f FILE --request "METHOD URL" [-H "Name: value"]... [--gateway NS/NAME] [--json]
          where the request goes: listener, route, rule, weighted backends or the
          status (404 no match, 500 no valid backend, 30x redirect). The URL's
          scheme and port pick the listener (http 80, https 443 by default); a
          Host header overrides the URL's host. Text: why each higher-precedence
          candidate lost. --json prints
          {"status", "gateway": "NS/NAME", "listener", "route": {"kind","namespace","name"},
           "rule", "backends": [{"kind","namespace","name","port","weight"}],
           "location", "request": {"method","host","path","headers"}}
          (null where there is none; backends lists the valid ones).
  status  -f FILE [--json]
          the status knet writes: Gateways with conditions and per listener
          attachedRoutes and conditions; HTTPRoutes with conditions per parentRef.
          --json prints {"gateways":[{namespace,name,conditions,listeners:
          [{name,attachedRoutes,conditions}]}],"routes":[{kind,namespace,name,
          parents:[{parentRef,conditions}]}]}; otherwise kubectl-like tables.
  serve   -f FILE --listen HOST:PORT [--tls-listen HOST:PORT] [--http-port N] [--https-port N]
          a real reverse proxy (HTTP/1.1; HTTP/2 and HTTP/1.1 over TLS with the
          listener certificate chosen by SNI) forwarding to ready endpoints, with
          filters and weights, one access-log line per request, until SIGINT/SIGTERM.
          --listen serves the HTTP listeners of port --http-port (default: the
          lowest HTTP listener port), --tls-listen the HTTPS listeners of
          --https-port (default: the lowest HTTPS listener port).

Flags:
  -f, --filename FILE   manifest file or directory ('-' for stdin); repeatable
  -H, --header "N: V"   request header (route); repeatable
      --gateway NS/NAME route through this Gateway only
      --json            machine-readable output
      --strict          fail (exit 2) instead of skipping objects of kinds the gateway does not read
                        (those are named on stderr); invalid objects always fail (exit 2)
`;

const FLAGS = {
  filename: { type: "string", short: "f", multiple: true },
  strict: { type: "boolean" },
  request: { type: "string" },
  header: { type: "string", short: "H", multiple: true },
  gateway: { type: "string" },
  json: { type: "boolean" },
  listen: { type: "string" },
  "tls-listen": { type: "string" },
  "http-port": { type: "string" },
  "https-port": { type: "string" },
} as const;

function load(files: readonly string[] | undefined, cmd: string, io: Io, strict: boolean): GatewayModel {
  const texts = readManifestTexts(files, cmd);
  try {
    const { inputs, ignored } = loadGatewayInputs(texts);
    // Kinds the gateway does not read are named, never dropped silently (the loader counts them by kind).
    const skips = new Skips(cmd, io, strict, files ?? []);
    for (const [kind, n] of ignored)
      skips.skip(`${n} ${kind} object${n === 1 ? "" : "s"}`, undefined, `knet ${cmd} does not read ${kind} objects`, n);
    skips.finish();
    return buildGatewayModel(inputs);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof ManifestError) throw new CliError(`${cmd}: ${e.message.split("\n")[0]}`, 2);
    throw new CliError(`${cmd}: invalid input: ${(e as Error).message.split("\n")[0]}`, 2);
  }
}

function gatewayKey(
  text: string | undefined,
  model: GatewayModel,
  cmd: string,
): { namespace: string; name: string } | undefined {
  if (text === undefined) return undefined;
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(text);
  if (m === null) throw new CliError(`${cmd}: --gateway '${text}' must be NAMESPACE/NAME`, 2);
  const key = { namespace: m[1] as string, name: m[2] as string };
  if (!model.gateways.some((g) => g.key.namespace === key.namespace && g.key.name === key.name))
    throw new CliError(
      `${cmd}: --gateway ${text}: no such Gateway of a knet GatewayClass (${KNET_CONTROLLER_NAME}) in the manifests`,
      2,
    );
  return key;
}

function parseRequest(text: string | undefined, headers: readonly string[], cmd: string) {
  if (text === undefined)
    throw new CliError(`${cmd}: --request "METHOD URL" is required (see 'knet gateway --help')`, 2);
  const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(text);
  if (m === null)
    throw new CliError(`${cmd}: --request '${text}' must be "METHOD URL", e.g. "GET http://shop.example.com/api"`, 2);
  let url: URL;
  try {
    url = new URL(m[2] as string);
  } catch {
    throw new CliError(`${cmd}: --request URL '${m[2]}' is not an absolute URL (http://HOST[:PORT]/PATH)`, 2);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`${cmd}: --request URL scheme '${url.protocol.slice(0, -1)}' must be http or https`, 2);
  const scheme = url.protocol === "https:" ? "https" : "http";
  const hdrs: Record<string, string> = {};
  for (const h of headers) {
    const c = h.indexOf(":");
    if (c <= 0) throw new CliError(`${cmd}: -H '${h}' must be "Name: value"`, 2);
    const name = h.slice(0, c).trim().toLowerCase();
    const value = h.slice(c + 1).trim();
    hdrs[name] = hdrs[name] === undefined ? value : `${hdrs[name]},${value}`;
  }
  return {
    method: (m[1] as string).toUpperCase(),
    scheme: scheme as "http" | "https",
    host: hdrs.host ?? url.host,
    port: url.port === "" ? (scheme === "https" ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers: hdrs,
  };
}

function decisionJson(d: RouteDecision): unknown {
  return {
    status: d.status,
    gateway: d.gateway === undefined ? null : `${d.gateway.namespace}/${d.gateway.name}`,
    listener: d.listener ?? null,
    route: d.route ?? null,
    rule: d.rule ?? null,
    backends: d.backends
      .filter((b) => b.valid)
      .map((b) => ({ kind: b.kind, namespace: b.namespace, name: b.name, port: b.port ?? null, weight: b.weight })),
    location: d.location ?? null,
    request: { method: d.request.method, host: d.request.host, path: d.request.path, headers: d.request.headers },
  };
}

function decisionText(d: RouteDecision): string {
  const lines = [`status ${d.status}`, ...d.explanation];
  if (d.route !== undefined) lines.push(`forwarded: ${d.request.method} ${d.request.host}${d.request.path}`);
  return `${lines.join("\n")}\n`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join("")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

function condText(list: readonly Condition[], type: string): string {
  const c = list.find((x) => x.type === type);
  return c === undefined ? "-" : c.status === "True" ? "True" : `${c.status} (${c.reason})`;
}

function statusText(model: GatewayModel): string {
  const s = gatewayStatus(model);
  const gw: string[][] = [["NAMESPACE", "GATEWAY", "LISTENER", "ATTACHED", "ACCEPTED", "RESOLVEDREFS", "PROGRAMMED"]];
  for (const g of s.gateways) {
    gw.push([
      g.namespace,
      g.name,
      "",
      "",
      condText(g.conditions, "Accepted"),
      "",
      condText(g.conditions, "Programmed"),
    ]);
    for (const l of g.listeners)
      gw.push([
        "",
        "",
        l.name,
        String(l.attachedRoutes),
        condText(l.conditions, "Accepted"),
        condText(l.conditions, "ResolvedRefs"),
        condText(l.conditions, "Programmed"),
      ]);
  }
  const rt: string[][] = [["NAMESPACE", "HTTPROUTE", "PARENT", "ACCEPTED", "RESOLVEDREFS"]];
  for (const r of s.routes)
    for (const p of r.parents) {
      const ref = p.parentRef;
      const parent = `${ref.namespace}/${ref.name}${ref.sectionName === undefined ? "" : `/${ref.sectionName}`}${ref.port === undefined ? "" : `:${ref.port}`}`;
      rt.push([
        r.namespace,
        r.name,
        parent,
        condText(p.conditions, "Accepted"),
        condText(p.conditions, "ResolvedRefs"),
      ]);
    }
  const none = "(none of knet's)";
  return `${s.gateways.length === 0 ? `Gateways: ${none}\n` : table(gw)}\n${s.routes.length === 0 ? `HTTPRoutes: ${none}\n` : table(rt)}`;
}

function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port > 65535)
    throw new CliError(`gateway serve: ${flag} '${text}' must be HOST:PORT, e.g. 127.0.0.1:8080`, 2);
  return { host: (m[1] ?? m[2]) as string, port };
}

function listenerPort(model: GatewayModel, protocol: string, flagValue: string | undefined, flag: string): number {
  if (flagValue !== undefined) {
    const n = Number(flagValue);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new CliError(`gateway serve: ${flag} '${flagValue}' must be a port number`, 2);
    return n;
  }
  const ports = model.gateways.flatMap((g) =>
    g.listeners.filter((l) => l.protocol === protocol && l.programmed).map((l) => l.port),
  );
  if (ports.length === 0)
    throw new CliError(`gateway serve: no programmed ${protocol} listener in the manifests to serve`, 1);
  return Math.min(...ports);
}

function signalled(): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * `knet gateway serve` with the flags after `serve`, until the promise `stop()`
 * returns resolves (SIGINT/SIGTERM for the command). Prints one line per bound address, then
 * access-log lines. Exported for tests.
 */
export async function runGatewayServe(
  argv: readonly string[],
  io: Io,
  stop: () => Promise<void> = signalled,
): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, "gateway serve");
  if (positionals.length > 0) throw new CliError(`gateway serve: unexpected argument '${positionals[0]}'`, 2);
  return serve(values, io, stop);
}

async function serve(values: { [k: string]: unknown }, io: Io, stop: () => Promise<void>): Promise<number> {
  const cmd = "gateway serve";
  if (values.listen === undefined && values["tls-listen"] === undefined)
    throw new CliError(`${cmd}: give --listen HOST:PORT and/or --tls-listen HOST:PORT (see 'knet gateway --help')`, 2);
  const model = load(values.filename as string[] | undefined, cmd, io, values.strict === true);
  const router = new Router(model);
  const listen: ServerListen[] = [];
  if (values.listen !== undefined)
    listen.push({
      ...parseHostPort(values.listen as string, "--listen"),
      listenerPort: listenerPort(model, "HTTP", values["http-port"] as string | undefined, "--http-port"),
      tls: false,
    });
  if (values["tls-listen"] !== undefined)
    listen.push({
      ...parseHostPort(values["tls-listen"] as string, "--tls-listen"),
      listenerPort: listenerPort(model, "HTTPS", values["https-port"] as string | undefined, "--https-port"),
      tls: true,
    });
  const server = new GatewayServer({ router, listen, log: (l) => io.out(`${l}\n`) });
  let bound: Awaited<ReturnType<GatewayServer["start"]>>;
  try {
    bound = await server.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`${cmd}: ${err.code !== undefined ? `${err.code}: ${err.message}` : err.message}`, 1);
  }
  const routes = model.routes.filter((r) => r.attachments.length > 0).length;
  for (const b of bound)
    io.out(
      `knet gateway: serving ${b.tls ? "HTTPS (h2, http/1.1)" : "HTTP/1.1"} listeners of port ${b.listenerPort} on ${b.host}:${b.boundPort} (${routes} attached routes)\n`,
    );
  await stop();
  await server.close();
  io.out("knet gateway: stopped\n");
  return 0;
}

/** `knet gateway`: route decisions, controller status and a real proxy for Gateway API and Ingress. */
export const gatewayCommand: CommandFamily = {
  name: "gateway",
  summary:
    "Gateway API / Ingress: route a request with the precedence explained, status conditions, serve a real proxy",
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined)
      throw new CliError("gateway: missing subcommand: route, status or serve (see 'knet gateway --help')", 2);
    if (sub !== "route" && sub !== "status" && sub !== "serve")
      throw new CliError(`gateway: unknown subcommand '${sub}': use route, status or serve`, 2);
    const cmd = `gateway ${sub}`;
    if (sub === "serve") return runGatewayServe(rest, io);
    const { values, positionals } = parseFlags(rest, FLAGS, cmd);
    if (positionals.length > 0) throw new CliError(`${cmd}: unexpected argument '${positionals[0]}'`, 2);
    const model = load(values.filename, cmd, io, values.strict === true);
    if (sub === "status") {
      if (values.json === true) {
        const s = gatewayStatus(model);
        const json = {
          gateways: s.gateways.map((g) => ({
            namespace: g.namespace,
            name: g.name,
            conditions: g.conditions,
            listeners: g.listeners.map((l) => ({
              name: l.name,
              attachedRoutes: l.attachedRoutes,
              conditions: l.conditions,
            })),
          })),
          routes: s.routes.map((r) => ({
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            parents: r.parents.map((p) => ({ parentRef: p.parentRef, conditions: p.conditions })),
          })),
        };
        io.out(`${JSON.stringify(json)}\n`);
      } else io.out(statusText(model));
      return 0;
    }
    const req = parseRequest(values.request, values.header ?? [], cmd);
    const gateway = gatewayKey(values.gateway, model, cmd);
    const d = new Router(model, gateway === undefined ? {} : { gateway }).route(req);
    io.out(values.json === true ? `${JSON.stringify(decisionJson(d))}\n` : decisionText(d));
    return 0;
  },
};

/**
 * A real HTTP data plane for the router: HTTP/1.1 on plain sockets, HTTP/2 and
 * HTTP/1.1 (ALPN) over TLS with the listener certificate chosen by SNI. Each
 * request is routed, filtered, sent to one endpoint of a backend chosen by
 * weight, and logged in one access-log line.
 */
import {
  Agent,
  createServer as createHttpServer,
  type Server as HttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Random } from "@knet/netstack";
import { applyFilters, type FilterState, type HeaderMap, modifyHeaders } from "./filters.js";
import { hostnameMatches, hostnameSpecificity } from "./hostname.js";
import type { ResolvedBackend } from "./model.js";
import type { RouteDecision, Router } from "./router.js";

/** One address the server listens on, standing for the Gateway listeners of one port. */
export interface ServerListen {
  /** Local address to bind (loopback in tests). */
  readonly host: string;
  /** Local port to bind (0 = any free port). */
  readonly port: number;
  /** The Gateway listener port this address stands for (picks listeners, builds redirects). */
  readonly listenerPort: number;
  /** Terminate TLS (HTTPS listeners; HTTP/2 and HTTP/1.1 by ALPN). */
  readonly tls: boolean;
}

/** Options of {@link GatewayServer}. */
export interface GatewayServerOptions {
  /** The router to serve. */
  readonly router: Router;
  /** Addresses to listen on. */
  readonly listen: readonly ServerListen[];
  /** Randomness for weights and endpoints (default Math.random). */
  readonly random?: Random;
  /** Where access-log lines go (default: nowhere). */
  readonly log?: (line: string) => void;
  /** Upstream connect and response timeout in ms (default 10000). */
  readonly upstreamTimeoutMs?: number;
}

/** A bound address: what was asked and the actual port. */
export interface BoundAddress extends ServerListen {
  /** The port actually bound. */
  readonly boundPort: number;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "http2-settings",
]);

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = {
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(body?: string): unknown;
  headersSent: boolean;
} & NodeJS.WritableStream;

function flatHeaders(h: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k.startsWith(":")) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  }
  return out;
}

/** Pick an index by weight; `r` in [0, 1). */
export function pickWeighted(weights: readonly number[], r: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = r * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i] ?? 0;
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/**
 * Serves a {@link Router} over real sockets until {@link GatewayServer.close}.
 * Routing is per request; the chosen backend's endpoint is picked uniformly.
 */
export class GatewayServer {
  private readonly servers: (HttpServer | Http2SecureServer)[] = [];
  private readonly options: GatewayServerOptions;
  private readonly random: () => number;
  private readonly contexts: { hostname: string | undefined; port: number; context: SecureContext }[] = [];
  /** Upstream connections are kept alive and reused, as a proxy's connection pool does. */
  private readonly agent = new Agent({ keepAlive: true });

  constructor(options: GatewayServerOptions) {
    this.options = options;
    const random = options.random;
    this.random = random === undefined ? Math.random : () => random.next();
    for (const gw of options.router.model.gateways)
      for (const l of gw.listeners)
        if (l.protocol === "HTTPS" && l.programmed)
          for (const c of l.certificates)
            this.contexts.push({
              hostname: l.hostname,
              port: l.port,
              context: createSecureContext({ cert: c.cert, key: c.key }),
            });
  }

  /** The TLS context for an SNI name on a listener port: the most specific listener hostname that matches. */
  private contextFor(servername: string | undefined, port: number): SecureContext | undefined {
    let best: (typeof this.contexts)[number] | undefined;
    for (const c of this.contexts) {
      if (c.port !== port) continue;
      if (
        c.hostname !== undefined &&
        (servername === undefined || !hostnameMatches(c.hostname, servername.toLowerCase()))
      )
        continue;
      if (best === undefined) best = c;
      else {
        const [a1, a2] = hostnameSpecificity(c.hostname);
        const [b1, b2] = hostnameSpecificity(best.hostname);
        if (a1 > b1 || (a1 === b1 && a2 > b2)) best = c;
      }
    }
    return best?.context ?? this.contexts.find((c) => c.port === port)?.context;
  }

  /**
   * Bind every address. Rejects (after closing what was bound) when an address
   * is taken or a TLS address has no certificate to serve.
   */
  async start(): Promise<BoundAddress[]> {
    const bound: BoundAddress[] = [];
    try {
      for (const l of this.options.listen) {
        let server: HttpServer | Http2SecureServer;
        const handler = (req: AnyRequest, res: AnyResponse): void => {
          this.handle(req, res, l);
        };
        if (l.tls) {
          const fallback = this.contextFor(undefined, l.listenerPort);
          if (fallback === undefined)
            throw new RangeError(
              `no programmed HTTPS listener with a certificate on port ${l.listenerPort}: check the listeners' certificateRefs and Secrets`,
            );
          server = createSecureServer({
            allowHTTP1: true,
            SNICallback: (name, cb) => cb(null, this.contextFor(name, l.listenerPort) ?? fallback),
          });
          server.on("request", (req: Http2ServerRequest, res: Http2ServerResponse) => {
            handler(req, res as unknown as AnyResponse);
          });
        } else {
          server = createHttpServer((req, res) => {
            handler(req, res);
          });
        }
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(l.port, l.host, () => {
            server.off("error", reject);
            resolve();
          });
        });
        bound.push({ ...l, boundPort: (server.address() as AddressInfo).port });
      }
    } catch (e) {
      await this.close();
      throw e;
    }
    return bound;
  }

  /** Stop accepting and close every server (open connections are ended). */
  async close(): Promise<void> {
    this.agent.destroy();
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if ("closeAllConnections" in s) s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }

  private handle(req: AnyRequest, res: AnyResponse, l: ServerListen): void {
    const started = process.hrtime.bigint();
    const authority = (req.headers[":authority"] as string | undefined) ?? req.headers.host ?? "";
    const method = (req.headers[":method"] as string | undefined) ?? req.method ?? "GET";
    const url = (req.headers[":path"] as string | undefined) ?? req.url ?? "/";
    const decision = this.options.router.route(
      {
        method,
        scheme: l.tls ? "https" : "http",
        host: authority,
        port: l.listenerPort,
        path: url,
        headers: flatHeaders(req.headers),
      },
      { explain: false },
    );
    const log = (status: number, upstream: string, bytes: number): void => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route =
        decision.route === undefined
          ? "-"
          : `${decision.route.kind}/${decision.route.namespace}/${decision.route.name}#${decision.rule}`;
      this.options.log?.(
        `${new Date().toISOString()} "${method} ${url} HTTP/${req.httpVersion}" ${status} ${bytes} host=${authority || "-"} route=${route} upstream=${upstream} ${ms.toFixed(1)}ms`,
      );
    };
    const answer = (status: number, headers: HeaderMap, body: string): void => {
      const h: HeaderMap = { "content-type": "text/plain; charset=utf-8", ...headers };
      for (const f of decision.responseHeaders) modifyHeaders(h, f);
      h["content-length"] = String(Buffer.byteLength(body));
      res.writeHead(status, h);
      res.end(body);
      req.resume();
      log(status, "-", Buffer.byteLength(body));
    };
    if (decision.location !== undefined) {
      answer(decision.status, { location: decision.location }, "");
      return;
    }
    if (decision.status !== 200) {
      answer(decision.status, {}, decision.status === 404 ? "no route matches\n" : "no valid backend\n");
      return;
    }
    const weighted = decision.backends.filter((b) => b.weight > 0);
    const backend = weighted[
      pickWeighted(
        weighted.map((b) => b.weight),
        this.random(),
      )
    ] as ResolvedBackend;
    if (!backend.valid) {
      answer(500, {}, `backend ${backend.namespace}/${backend.name} is invalid: ${backend.problem?.message ?? ""}\n`);
      return;
    }
    const state = this.backendState(decision, backend, weighted.length > 1);
    if (state.redirect !== undefined) {
      answer(state.redirect.status, { location: state.redirect.location }, "");
      return;
    }
    const endpoint = backend.endpoints[Math.floor(this.random() * backend.endpoints.length)];
    if (endpoint === undefined) {
      answer(503, {}, `no ready endpoint for ${backend.namespace}/${backend.name}:${backend.port}\n`);
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(state.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = state.host;
    const xff = state.headers["x-forwarded-for"];
    const peer = req.socket.remoteAddress ?? "";
    headers["x-forwarded-for"] = xff === undefined ? peer : `${xff}, ${peer}`;
    headers["x-forwarded-proto"] = l.tls ? "https" : "http";
    const upstream = endpoint.ip.includes(":")
      ? `[${endpoint.ip}]:${endpoint.port}`
      : `${endpoint.ip}:${endpoint.port}`;
    const body: Buffer[] = [];
    const mirrors = decision.mirrors;
    const up = httpRequest(
      {
        host: endpoint.ip,
        port: endpoint.port,
        method,
        path: state.path,
        headers,
        agent: this.agent,
        timeout: this.options.upstreamTimeoutMs ?? 10_000,
      },
      (upRes) => {
        const out: HeaderMap = {};
        for (const [k, v] of Object.entries(upRes.headers))
          if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = Array.isArray(v) ? v.join(", ") : v;
        for (const f of state.responseHeaders) modifyHeaders(out, f);
        res.writeHead(upRes.statusCode ?? 502, out);
        let bytes = 0;
        upRes.on("data", (c: Buffer) => {
          bytes += c.length;
        });
        upRes.pipe(res);
        upRes.on("end", () => log(upRes.statusCode ?? 502, upstream, bytes));
      },
    );
    // The web platform's timeout error (what AbortSignal.timeout() raises).
    up.on("timeout", () => up.destroy(new DOMException("upstream timeout", "TimeoutError")));
    up.on("error", (e) => {
      if (!res.headersSent) {
        const msg = `upstream ${upstream} failed: ${e.message}\n`;
        res.writeHead(503, {
          "content-type": "text/plain; charset=utf-8",
          "content-length": String(Buffer.byteLength(msg)),
        });
        res.end(msg);
        log(503, upstream, Buffer.byteLength(msg));
      } else {
        res.end();
      }
    });
    req.on("data", (c: Buffer) => {
      if (mirrors.length > 0) body.push(c);
    });
    req.pipe(up);
    if (mirrors.length > 0) req.on("end", () => this.mirror(mirrors, method, state, Buffer.concat(body)));
  }

  private backendState(decision: RouteDecision, backend: ResolvedBackend, applyBackendFilters: boolean): FilterState {
    const [path = "/"] = decision.request.path.split("?", 1);
    const state: FilterState = {
      host: decision.request.host,
      path,
      headers: { ...decision.request.headers },
      responseHeaders: [...decision.responseHeaders],
      redirect: undefined,
    };
    if (applyBackendFilters && decision.context !== undefined) applyFilters(backend.filters, state, decision.context);
    const q = decision.request.path.indexOf("?");
    if (q >= 0) state.path += decision.request.path.slice(q);
    return state;
  }

  private mirror(mirrors: readonly ResolvedBackend[], method: string, state: FilterState, body: Buffer): void {
    for (const m of mirrors) {
      const ep = m.endpoints[Math.floor(this.random() * m.endpoints.length)];
      if (ep === undefined) continue;
      const headers: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(state.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
      headers.host = state.host;
      headers["content-length"] = String(body.length);
      const r = httpRequest({ host: ep.ip, port: ep.port, method, path: state.path, headers, timeout: 5000 }, (res) =>
        res.resume(),
      );
      r.on("error", () => {
        // mirrored responses and failures are ignored, as the spec requires
      });
      r.on("timeout", () => r.destroy());
      r.end(body);
    }
  }
}

/**
 * A live cluster source: list+watch of a real API server feeding a {@link ClusterState},
 * as client-go's reflector does it (list, then watch from the list's resourceVersion;
 * bookmarks move the resourceVersion on; `410 Gone` relists; a broken watch reconnects
 * with capped exponential backoff and resumes from the last resourceVersion seen).
 * Connection facts come from a kubeconfig (or in-cluster config).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { Agent, request } from "node:https";
import { parse as parseYaml } from "yaml";
import type { ClusterState } from "./cluster-state.js";
import type { KubeKind, KubeObject } from "./objects.js";

/** A kubeconfig that cannot be used, or an API server that refuses a list. */
export class ClusterSourceError extends Error {
  override readonly name = "ClusterSourceError";
}

/** How to reach and authenticate to an API server. */
export interface KubeConnection {
  /** `https://host:port`. */
  readonly server: string;
  /** Bearer token, when the user authenticates with one. */
  readonly token?: string;
  /** PEM CA bundle; absent with {@link KubeConnection.insecure}. */
  readonly ca?: string;
  /** PEM client certificate, when the user authenticates with one. */
  readonly cert?: string;
  /** PEM key of {@link KubeConnection.cert}. */
  readonly key?: string;
  /** Skip server certificate verification (`insecure-skip-tls-verify`). */
  readonly insecure: boolean;
}

type Named<T> = { name?: string } & T;
interface KubeconfigFile {
  "current-context"?: string;
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
}

function pemField(obj: Record<string, unknown> | undefined, key: string, base: string): string | undefined {
  const data = obj?.[`${key}-data`];
  if (typeof data === "string") return Buffer.from(data, "base64").toString("utf8");
  const file = obj?.[key];
  if (typeof file === "string") return readFileSync(file.startsWith("/") ? file : `${base}/${file}`, "utf8");
  return undefined;
}

/**
 * Read a kubeconfig as kubectl does: `context` (default: current-context) names a
 * cluster and a user. Throws a {@link ClusterSourceError} naming what is missing.
 */
export function loadKubeconfig(path: string, context?: string): KubeConnection {
  let doc: KubeconfigFile;
  try {
    doc = parseYaml(readFileSync(path, "utf8")) as KubeconfigFile;
  } catch (e) {
    throw new ClusterSourceError(`kubeconfig ${path}: ${(e as Error).message}`);
  }
  const ctxName = context ?? doc["current-context"];
  if (ctxName === undefined)
    throw new ClusterSourceError(`kubeconfig ${path}: no current-context; pass --context NAME`);
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (ctx === undefined) {
    const names = (doc.contexts ?? []).map((c) => c.name).join(", ") || "none";
    throw new ClusterSourceError(`kubeconfig ${path}: context "${ctxName}" not found (contexts: ${names})`);
  }
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (typeof cluster?.server !== "string") {
    throw new ClusterSourceError(`kubeconfig ${path}: cluster "${ctx.cluster}" of context "${ctxName}" has no server`);
  }
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const base = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  const tokenFile = user.tokenFile;
  const token =
    typeof user.token === "string"
      ? user.token
      : typeof tokenFile === "string"
        ? readFileSync(tokenFile, "utf8").trim()
        : undefined;
  const ca = pemField(cluster, "certificate-authority", base);
  const cert = pemField(user, "client-certificate", base);
  const key = pemField(user, "client-key", base);
  return {
    server: cluster.server.replace(/\/$/, ""),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    ...(token !== undefined ? { token } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

/** The in-cluster connection (a pod's service account), as client-go's InClusterConfig. */
export function inClusterConnection(): KubeConnection {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new ClusterSourceError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set; pass --kubeconfig");
  const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    token: readFileSync(`${dir}/token`, "utf8").trim(),
    ca: readFileSync(`${dir}/ca.crt`, "utf8"),
    insecure: false,
  };
}

/** An API server's answer: HTTP status and the parsed JSON body. */
export interface KubeReply {
  /** HTTP status. */
  readonly status: number;
  /** The JSON body (an API `Status` for errors). */
  readonly body: Record<string, unknown>;
}

/**
 * Requests to an API server with a connection's credentials: JSON in, JSON out,
 * one keep-alive agent. {@link ClusterSource} lists and watches through one;
 * `knet validate --server-side` sends dry-run requests through another.
 */
export class KubeClient {
  /** The TLS agent (kept alive between requests). */
  readonly agent: Agent;

  constructor(readonly conn: KubeConnection) {
    this.agent = new Agent({
      keepAlive: true,
      rejectUnauthorized: !conn.insecure,
      ...(conn.ca !== undefined ? { ca: conn.ca } : {}),
      ...(conn.cert !== undefined ? { cert: conn.cert } : {}),
      ...(conn.key !== undefined ? { key: conn.key } : {}),
    });
  }

  /** The request headers: JSON, and the bearer token when there is one. */
  headers(): Record<string, string> {
    return { accept: "application/json", ...(this.conn.token ? { authorization: `Bearer ${this.conn.token}` } : {}) };
  }

  /**
   * Send one request; resolves with any status. Rejects when there is no answer or the
   * body is not JSON ({@link ClusterSourceError}).
   */
  request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<KubeReply> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const headers = {
        ...this.headers(),
        ...(data ? { "content-type": contentType, "content-length": String(data.length) } : {}),
      };
      const req = request(`${this.conn.server}${path}`, { method, agent: this.agent, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString("utf8")) });
          } catch (e) {
            reject(
              new ClusterSourceError(
                `${method} ${path}: ${res.statusCode} with a body that is not JSON (${(e as Error).message})`,
              ),
            );
          }
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(data);
    });
  }

  /** Close the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** Where each kind is listed and watched (cluster-wide), newest API version first. */
const RESOURCES: Partial<Record<KubeKind, readonly { path: string; apiVersion: string }[]>> = {
  Namespace: [{ path: "/api/v1/namespaces", apiVersion: "v1" }],
  Node: [{ path: "/api/v1/nodes", apiVersion: "v1" }],
  Pod: [{ path: "/api/v1/pods", apiVersion: "v1" }],
  Service: [{ path: "/api/v1/services", apiVersion: "v1" }],
  EndpointSlice: [
    { path: "/apis/discovery.k8s.io/v1/endpointslices", apiVersion: "discovery.k8s.io/v1" },
    // Servers before 1.21 serve only v1beta1.
    { path: "/apis/discovery.k8s.io/v1beta1/endpointslices", apiVersion: "discovery.k8s.io/v1beta1" },
  ],
  NetworkPolicy: [{ path: "/apis/networking.k8s.io/v1/networkpolicies", apiVersion: "networking.k8s.io/v1" }],
};

/** The kinds a {@link ClusterSource} can follow. */
export const WATCHABLE_KINDS: readonly KubeKind[] = Object.keys(RESOURCES) as KubeKind[];

type Raw = Record<string, unknown> & { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };

/**
 * A v1beta1 EndpointSlice in v1's shape: `topology` (hostname, zone) becomes `nodeName`
 * and `zone`, as the API server's own conversion does.
 */
function endpointSliceV1(obj: Raw): Raw {
  const endpoints = (obj.endpoints as Record<string, unknown>[] | null | undefined)?.map((ep) => {
    const { topology, ...rest } = ep as { topology?: Record<string, string> } & Record<string, unknown>;
    const nodeName = topology?.["kubernetes.io/hostname"];
    const zone = topology?.["topology.kubernetes.io/zone"];
    return {
      ...rest,
      ...(nodeName !== undefined && rest.nodeName === undefined ? { nodeName } : {}),
      ...(zone !== undefined ? { zone } : {}),
    };
  });
  return { ...obj, apiVersion: "discovery.k8s.io/v1", ...(endpoints ? { endpoints } : {}) };
}

/** Options of {@link ClusterSource}. */
export interface ClusterSourceOptions {
  /** Kinds to follow (default: {@link WATCHABLE_KINDS}). */
  readonly kinds?: readonly KubeKind[];
  /** Diagnostics (reconnects, relists); default: none. */
  readonly log?: (line: string) => void;
  /** Backoff bounds for reconnecting, in ms (default 200 to 5000, doubling). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

interface KindWatch {
  kind: KubeKind;
  path: string;
  apiVersion: string;
  resourceVersion: string;
  request?: { destroy(): void };
}

/**
 * Follows an API server into a {@link ClusterState}: {@link ClusterSource.start}
 * lists every kind (resolving once the state holds the first full list, the moment
 * CoreDNS's `ready` reports ready), then watches each one until {@link ClusterSource.stop}.
 */
export class ClusterSource {
  private readonly client: KubeClient;
  private readonly watches: KindWatch[] = [];
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Completed lists (initial and relists) and reconnects, for diagnostics and tests. */
  readonly stats = { lists: 0, watches: 0, events: 0, relists: 0, reconnects: 0 };

  constructor(
    private readonly conn: KubeConnection,
    private readonly state: ClusterState,
    private readonly options: ClusterSourceOptions = {},
  ) {
    this.client = new KubeClient(conn);
  }

  /** List every kind into the state, then keep watching. Resolves after the first full sync. */
  async start(): Promise<void> {
    for (const kind of this.options.kinds ?? WATCHABLE_KINDS) {
      const w = await this.resolveResource(kind);
      if (w !== undefined) this.watches.push(w);
    }
    for (const w of this.watches) await this.list(w);
    for (const w of this.watches) this.watch(w);
  }

  /** Stop watching; the state keeps what it holds. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.watches) w.request?.destroy();
    this.client.close();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private get(path: string): Promise<{ status: number; body: Raw }> {
    return this.client.request("GET", path) as Promise<{ status: number; body: Raw }>;
  }

  /** The first API version of `kind` the server serves (404 on the list means: not served). */
  private async resolveResource(kind: KubeKind): Promise<KindWatch | undefined> {
    for (const r of RESOURCES[kind] ?? []) {
      const res = await this.get(`${r.path}?limit=1`);
      if (res.status === 404) continue;
      if (res.status !== 200)
        throw new ClusterSourceError(`GET ${r.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      return { kind, path: r.path, apiVersion: r.apiVersion, resourceVersion: "" };
    }
    this.log(`source: the server serves no version of ${kind}; not followed`);
    return undefined;
  }

  private toObject(w: KindWatch, raw: Raw): KubeObject {
    const obj: Raw = { ...raw, apiVersion: w.apiVersion, kind: w.kind };
    return (w.apiVersion === "discovery.k8s.io/v1beta1" ? endpointSliceV1(obj) : obj) as unknown as KubeObject;
  }

  /** List one kind; objects no longer listed are deleted from the state (a relist after 410 misses deletes). */
  private async list(w: KindWatch): Promise<void> {
    const res = await this.get(w.path);
    if (res.status !== 200)
      throw new ClusterSourceError(`list ${w.kind}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    const items = (res.body.items as Raw[] | undefined) ?? [];
    const seen = new Set<string>();
    const objects = items.map((i) => this.toObject(w, i));
    for (const o of objects) seen.add(`${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`);
    for (const old of this.state.list(w.kind)) {
      const key = `${old.metadata?.namespace ?? ""}/${old.metadata?.name ?? ""}`;
      if (!seen.has(key)) this.state.delete(w.kind, old.metadata?.namespace ?? "", old.metadata?.name ?? "");
    }
    this.state.applyAll(objects);
    w.resourceVersion = (res.body.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? "";
    this.stats.lists++;
  }

  private retry(w: KindWatch, attempt: number, relist: boolean): void {
    if (this.stopped) return;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 5000 };
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 16));
    const t = setTimeout(async () => {
      this.timers.delete(t);
      if (this.stopped) return;
      try {
        if (relist) {
          await this.list(w);
          this.stats.relists++;
        }
        this.watch(w);
      } catch (e) {
        this.log(`source: ${w.kind}: ${(e as Error).message}; retrying`);
        this.stats.reconnects++;
        this.retry(w, attempt + 1, true);
      }
    }, delay);
    this.timers.add(t);
  }

  /** Watch one kind from its resourceVersion; on end or error, resume (or relist after 410). */
  private watch(w: KindWatch, attempt = 0): void {
    if (this.stopped) return;
    const q = `watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(w.resourceVersion)}&timeoutSeconds=300`;
    let buffered = "";
    let gone = false;
    let gotData = false;
    let settled = false;
    // Exactly one follow-up per watch request, however it ended: a clean end (the
    // server's timeout), a reset mid-stream (the server went away), or no connection.
    const again = (why: string | undefined) => {
      if (settled || this.stopped) return;
      settled = true;
      if (why !== undefined) {
        this.stats.reconnects++;
        this.log(`source: watch ${w.kind}: ${why}; reconnecting`);
      }
      if (gone) this.log(`source: ${w.kind}: resourceVersion ${w.resourceVersion} is gone; relisting`);
      this.retry(w, gone || gotData ? 0 : attempt + 1, gone);
    };
    const req = request(
      `${this.conn.server}${w.path}?${q}`,
      { agent: this.client.agent, headers: this.client.headers() },
      (res: IncomingMessage) => {
        if (res.statusCode === 410) gone = true;
        else if (res.statusCode !== 200) this.log(`source: watch ${w.kind}: HTTP ${res.statusCode}`);
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          gotData = true;
          buffered += chunk;
          let nl = buffered.indexOf("\n");
          while (nl >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() !== "" && this.onEvent(w, line)) gone = true;
            nl = buffered.indexOf("\n");
          }
        });
        res.on("error", (e) => again(e.message));
        res.on("close", () => again(res.complete ? undefined : "stream closed"));
      },
    );
    req.on("error", (e) => again(e.message));
    req.end();
    w.request = req;
    this.stats.watches++;
  }

  /** Apply one watch event; returns true when the server said the resourceVersion is gone (410). */
  private onEvent(w: KindWatch, line: string): boolean {
    let ev: { type?: string; object?: Raw };
    try {
      ev = JSON.parse(line) as { type?: string; object?: Raw };
    } catch {
      this.log(`source: watch ${w.kind}: a line that is not JSON was skipped`);
      return false;
    }
    const obj = ev.object ?? {};
    const rv = obj.metadata?.resourceVersion;
    switch (ev.type) {
      case "ADDED":
      case "MODIFIED":
        this.state.apply(this.toObject(w, obj));
        break;
      case "DELETED":
        this.state.delete(w.kind, obj.metadata?.namespace ?? "", obj.metadata?.name ?? "");
        break;
      case "BOOKMARK":
        break;
      case "ERROR":
        return (obj as { code?: number }).code === 410;
      default:
        this.log(`source: watch ${w.kind}: unknown event type ${ev.type}`);
        return false;
    }
    if (rv !== undefined) w.resourceVersion = rv;
    this.stats.events++;
    return false;
  }
}

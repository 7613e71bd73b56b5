/**
 * A Gateway in a simulated `@knet/cluster`: a cluster extension (run after the
 * `proxy` stage) that runs the Gateway's data plane on a node, as a
 * host-network gateway (an ingress controller DaemonSet, Envoy Gateway with
 * hostNetwork) runs: a user-space proxy on every HTTP listener port in the
 * node's namespace routes each traced request with the {@link Router} and
 * connects from the node to the chosen backend Service's ClusterIP, so that
 * node's proxy mode (its OUTPUT path) picks the pod; and a client host outside
 * the cluster that resolves the routes' hostnames to the node. Shapes are
 * structural: this package does not import `@knet/cluster` (the cluster
 * composes the gateway, not the reverse).
 */
import type { EndpointSlice, Service } from "@knet/k8s";
import type { Random } from "@knet/netstack";
import { buildGatewayModel, type GatewayInputs } from "./model.js";
import { Router } from "./router.js";
import { pickWeighted } from "./server.js";

/** The part of a cluster build the gateway extension uses (`ClusterBuild` of `@knet/cluster`). */
export interface GatewayClusterBuild {
  /** Nodes by name (also their network namespace), with their underlay address. */
  readonly nodes: ReadonlyMap<string, { readonly name: string; readonly ip: { toString(): string } }>;
  /** Services with their allocated ClusterIPs. */
  readonly services: ReadonlyMap<string, { readonly service: Service }>;
  /** EndpointSlices the cluster's controller wrote. */
  readonly endpointSlices: readonly EndpointSlice[];
  /** Add a host outside the cluster. */
  addExternalHost(
    name: string,
    options?: { readonly ip?: string; readonly hosts?: Readonly<Record<string, string>> },
  ): { readonly ip: { toString(): string }; readonly netns: string };
  /** Add a user-space proxy. */
  addUserspaceProxy(proxy: GatewayUserspaceProxy): void;
}

/** A connection a user-space proxy accepted (`ProxiedRequest` of `@knet/cluster`). */
export interface GatewayProxiedRequest {
  /** The HTTP request, when the trace carries one. */
  readonly http:
    | { readonly method: string; readonly path: string; readonly headers: Readonly<Record<string, string>> }
    | undefined;
  /** Where it was accepted. */
  readonly local: { readonly ip: string; readonly port: number };
}

/** What the proxy does (`ProxyForward` of `@knet/cluster`). */
export type GatewayProxyForward =
  | {
      readonly kind: "forward";
      readonly to: string;
      readonly http?: {
        readonly method: string;
        readonly path: string;
        readonly headers: Readonly<Record<string, string>>;
      };
      readonly note?: string;
    }
  | { readonly kind: "respond"; readonly status: number; readonly note?: string };

/** A user-space proxy (`UserspaceProxy` of `@knet/cluster`). */
export interface GatewayUserspaceProxy {
  /** Name in traces. */
  readonly name: string;
  /** Namespace it listens in. */
  readonly netns: string;
  /** Port. */
  readonly port: number;
  /** Route one connection. */
  forward(request: GatewayProxiedRequest): GatewayProxyForward;
}

/** Options of {@link gatewayClusterExtension}. */
export interface GatewayClusterOptions {
  /** Node the gateway runs on, in its network namespace (default: the first node). */
  readonly node?: string;
  /** Name of the client host outside the cluster (default `client`); it resolves every route hostname to the node. */
  readonly client?: string;
  /** Randomness for weighted backends (default: always the first of the heaviest). */
  readonly random?: Random;
}

/**
 * A `@knet/cluster` extension that runs the Gateways of `inputs` (Gateway API
 * objects and Ingresses; Services and EndpointSlices come from the cluster) on a
 * node, plus a client outside the cluster. Pass it in `ClusterOptions.extensions`.
 */
export function gatewayClusterExtension(
  inputs: Omit<GatewayInputs, "services" | "endpointSlices">,
  options: GatewayClusterOptions = {},
): { readonly name: string; readonly after: { readonly proxy: (build: GatewayClusterBuild) => void } } {
  return {
    name: "gateway",
    after: {
      proxy: (b) => {
        const node = options.node === undefined ? [...b.nodes.values()][0] : b.nodes.get(options.node);
        if (node === undefined)
          throw new RangeError(`gateway extension: node ${options.node ?? "(first)"} not found in the cluster`);
        const services = [...b.services.values()].map((s) => s.service);
        const model = buildGatewayModel({ ...inputs, services, endpointSlices: b.endpointSlices });
        const router = new Router(model);
        const clusterIp = new Map(
          services.map((s) => [`${s.metadata?.namespace ?? "default"}/${s.metadata?.name ?? ""}`, s.spec?.clusterIP]),
        );
        const hosts: Record<string, string> = {};
        for (const r of model.routes)
          for (const a of r.attachments)
            for (const h of a.hostnames) if (!h.startsWith("*.")) hosts[h] = node.ip.toString();
        b.addExternalHost(options.client ?? "client", { hosts });
        const ports = new Set(
          model.gateways.flatMap((g) =>
            g.listeners.filter((l) => l.protocol === "HTTP" && l.programmed).map((l) => l.port),
          ),
        );
        for (const port of ports) {
          b.addUserspaceProxy({
            name: `gateway on ${node.name}:${port}`,
            netns: node.name,
            port,
            forward: (req) => {
              const http = req.http ?? { method: "GET", path: "/", headers: {} };
              const d = router.route({
                method: http.method,
                scheme: "http",
                host: http.headers.host ?? req.local.ip,
                port,
                path: http.path,
                headers: http.headers,
              });
              const where =
                d.route === undefined ? "" : `${d.route.kind} ${d.route.namespace}/${d.route.name} rule ${d.rule}`;
              if (d.location !== undefined)
                return { kind: "respond", status: d.status, note: `${where}: redirect to ${d.location}` };
              if (d.status !== 200) return { kind: "respond", status: d.status, note: d.explanation.at(-1) ?? "" };
              const weighted = d.backends.filter((x) => x.weight > 0);
              const pick =
                options.random === undefined
                  ? weighted.reduce((best, x, i) => (x.weight > (weighted[best]?.weight ?? 0) ? i : best), 0)
                  : pickWeighted(
                      weighted.map((x) => x.weight),
                      options.random.next(),
                    );
              const backend = weighted[pick];
              if (backend === undefined || !backend.valid)
                return { kind: "respond", status: 500, note: `${where}: backend invalid` };
              const ip = clusterIp.get(`${backend.namespace}/${backend.name}`);
              if (ip === undefined || ip === "None")
                return {
                  kind: "respond",
                  status: 503,
                  note: `${where}: Service ${backend.namespace}/${backend.name} has no ClusterIP`,
                };
              const headers = { ...d.request.headers, host: d.request.host };
              return {
                kind: "forward",
                to: `${ip}:${backend.port}`,
                http: { method: d.request.method, path: d.request.path, headers },
                note: `${where} -> Service ${backend.namespace}/${backend.name}:${backend.port} (weight ${backend.weight}/${weighted.reduce((n, x) => n + x.weight, 0)})`,
              };
            },
          });
        }
      },
    },
  };
}

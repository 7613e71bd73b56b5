/**
 * Service backends: a backendRef names a Service port; the endpoints behind it
 * come from EndpointSlices read through the `@knet/kube-proxy` model (the same
 * parsing, conditions and ordering kube-proxy uses), so a Gateway and a node's
 * proxy agree on what is ready.
 */
import type { EndpointSlice, Service } from "@knet/k8s";
import { type Endpoint, mergeEndpoints, sliceEndpoints } from "@knet/kube-proxy";
import type { Family } from "@knet/netstack";

/** One ready endpoint of a backend: address and target port. */
export interface BackendEndpoint {
  /** Address text (canonical). */
  readonly ip: string;
  /** Target port. */
  readonly port: number;
}

/** What a Service port resolves to. */
export type ServiceLookup =
  | { readonly found: true; readonly endpoints: readonly BackendEndpoint[] }
  | { readonly found: false; readonly why: string };

/** Services and their endpoints, indexed for backend resolution. */
export class ServiceIndex {
  private readonly services = new Map<string, Service>();
  private readonly endpoints = new Map<string, Endpoint[][]>();

  /**
   * Index Services and EndpointSlices (both families).
   * @throws ProxyModelError (from `@knet/kube-proxy`) naming a malformed EndpointSlice.
   */
  constructor(services: readonly Service[], slices: readonly EndpointSlice[]) {
    for (const s of services) this.services.set(`${s.metadata?.namespace ?? "default"}/${s.metadata?.name ?? ""}`, s);
    for (const slice of slices) {
      for (const family of [4, 6] as Family[]) {
        for (const part of sliceEndpoints(slice, family, "")) {
          if (part.protocol !== "tcp") continue;
          const key = `${part.serviceKey}:${part.portName}`;
          const lists = this.endpoints.get(key) ?? [];
          lists.push([...part.endpoints]);
          this.endpoints.set(key, lists);
        }
      }
    }
  }

  /** Whether a Service `namespace/name` exists. */
  has(namespace: string, name: string): boolean {
    return this.services.has(`${namespace}/${name}`);
  }

  /** The ready endpoints of Service `namespace/name` port `port` (the Service's `port`, not the target port). */
  lookup(namespace: string, name: string, port: number): ServiceLookup {
    const svc = this.services.get(`${namespace}/${name}`);
    if (svc === undefined) return { found: false, why: `Service ${namespace}/${name} not found` };
    const sp = (svc.spec?.ports ?? []).find((p) => p.port === port && (p.protocol ?? "TCP") === "TCP");
    if (sp === undefined) return { found: false, why: `Service ${namespace}/${name} has no TCP port ${port}` };
    const lists = this.endpoints.get(`${namespace}/${name}:${sp.name ?? ""}`) ?? [];
    const ready = mergeEndpoints(lists).filter((e) => e.ready);
    return { found: true, endpoints: ready.map((e) => ({ ip: e.ip, port: e.port })) };
  }
}

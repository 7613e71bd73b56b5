/**
 * The record index: what cluster DNS knows about Services, EndpointSlices, Pods,
 * Namespaces and (for `multicluster` zones) ServiceImports, kept as small derived views that are recomputed per Service
 * when one of its objects changes (never a full rebuild). It answers nothing by
 * itself; the `kubernetes` plugin's lookup reads it.
 */
import { type EndpointSlice, LABEL_SERVICE_NAME, type Namespace, type Pod, type Service } from "@knet/k8s";
import { Addr } from "@knet/netstack";

/** A port as DNS sees it: name (may be empty), protocol (upper case), number. */
export interface PortView {
  /** Port name; `""` for an unnamed port. */
  readonly name: string;
  /** `TCP`, `UDP` or `SCTP`. */
  readonly protocol: string;
  /** Port number. */
  readonly port: number;
}

/** One ready endpoint address of a Service. */
export interface EndpointView {
  /** The address in canonical text. */
  readonly ip: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** `hostname` from the EndpointSlice, when set. */
  readonly hostname?: string;
  /** The target Pod's name, when `targetRef` names a Pod. */
  readonly podName?: string;
  /** The ports of its EndpointSlice (empty: no ports known). */
  readonly ports: readonly PortView[];
}

/** What DNS needs of one Service. */
export interface ServiceView {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** `ClusterIP` (also NodePort/LoadBalancer), `Headless` (clusterIP None) or `ExternalName`. */
  readonly kind: "ClusterIP" | "Headless" | "ExternalName";
  /** Cluster IPs in canonical text (ClusterIP kind only). */
  readonly clusterIPs: readonly string[];
  /** Service ports (`port` numbers). */
  readonly ports: readonly PortView[];
  /** `spec.externalName` (ExternalName kind only). */
  readonly externalName?: string;
  /** Ready endpoints from all of its EndpointSlices (CoreDNS keeps an address unless `ready` is false). */
  readonly endpoints: readonly EndpointView[];
}

/** One ready endpoint of a ServiceImport: an endpoint and the cluster it is in. */
export interface ClusterEndpointView extends EndpointView {
  /** `multicluster.kubernetes.io/source-cluster` of its EndpointSlice (`""` when unlabelled). */
  readonly cluster: string;
}

/** What DNS needs of one ServiceImport (KEP-1645, `multicluster.x-k8s.io/v1alpha1`). */
export interface ServiceImportView {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** `ClusterSetIP` or `Headless` (`spec.type`). */
  readonly kind: "ClusterSetIP" | "Headless";
  /** `spec.ips` in canonical text. */
  readonly ips: readonly string[];
  /** `spec.ports`. */
  readonly ports: readonly PortView[];
  /** Ready endpoints of the EndpointSlices labelled `multicluster.kubernetes.io/service-name` with its name. */
  readonly endpoints: readonly ClusterEndpointView[];
}

/**
 * A ServiceImport as the MCS API writes it (`multicluster.x-k8s.io/v1alpha1`); only
 * the fields DNS reads.
 */
export interface ServiceImport {
  /** `ServiceImport`. */
  readonly kind?: "ServiceImport";
  /** `multicluster.x-k8s.io/v1alpha1`. */
  readonly apiVersion?: string;
  /** Name and namespace. */
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  /** Type, IPs and ports. */
  readonly spec?: {
    readonly type?: string;
    readonly ips?: readonly string[];
    readonly ports?: readonly { readonly name?: string; readonly protocol?: string; readonly port: number }[];
  };
}

/** A pod as the `pods verified` mode sees it. */
export interface PodView {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** `status.podIP` in canonical text. */
  readonly ip: string;
}

/** Options of a {@link DnsIndex}. */
export interface DnsIndexOptions {
  /** Seconds since the epoch, for the SOA serial. Default `Date.now()/1000`. */
  readonly clock?: () => number;
  /**
   * Whether the index starts out as synced. A server answers SERVFAIL instead of
   * NXDOMAIN until it is (CoreDNS before its informers synced). Default true.
   */
  readonly synced?: boolean;
}

/** Something the index accepts: a Service, EndpointSlice, Pod, Namespace or ServiceImport (by `kind`, or by shape). */
export type IndexedObject =
  | (Service & { kind?: "Service" })
  | (EndpointSlice & { kind?: "EndpointSlice" })
  | (Pod & { kind?: "Pod" })
  | (Namespace & { kind?: "Namespace" })
  | ServiceImport;

/** The MCS API's labels on the EndpointSlices of an imported service. */
const MC_SERVICE_NAME_LABEL = "multicluster.kubernetes.io/service-name";
const MC_SOURCE_CLUSTER_LABEL = "multicluster.kubernetes.io/source-cluster";

function canonicalIp(text: string | undefined): Addr | undefined {
  if (text === undefined || text === "" || text === "None") return undefined;
  try {
    return Addr.parse(text);
  } catch {
    return undefined;
  }
}

function nsOf(meta: { namespace?: string } | undefined): string {
  return meta?.namespace || "default";
}

function kindOf(obj: { kind?: string; spec?: unknown; endpoints?: unknown; addressType?: unknown }): string {
  if (typeof obj.kind === "string") return obj.kind;
  if ("addressType" in obj || "endpoints" in obj) return "EndpointSlice";
  return "";
}

function portViews(
  ports:
    | readonly { readonly name?: string | undefined; readonly protocol?: string | undefined; readonly port: number }[]
    | undefined,
): PortView[] {
  return (ports ?? []).map((p) => ({
    name: p.name ?? "",
    protocol: (p.protocol ?? "TCP").toUpperCase(),
    port: p.port,
  }));
}

function addTo<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  let s = map.get(k);
  if (s === undefined) {
    s = new Set();
    map.set(k, s);
  }
  s.add(v);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  const s = map.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) map.delete(k);
}

/**
 * The record index, updated incrementally with {@link DnsIndex.upsert} and
 * {@link DnsIndex.remove}. Every change bumps {@link DnsIndex.generation} and the
 * SOA {@link DnsIndex.serial}.
 */
export class DnsIndex {
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();
  private readonly sliceOwner = new Map<string, string>();
  private readonly slicesOf = new Map<string, Set<string>>();
  private readonly views = new Map<string, ServiceView>();
  private readonly imports = new Map<string, ServiceImport>();
  private readonly mcSliceOwner = new Map<string, string>();
  private readonly mcSlicesOf = new Map<string, Set<string>>();
  private readonly importViews = new Map<string, ServiceImportView>();
  private readonly pods = new Map<string, PodView>();
  private readonly podsByIp = new Map<string, Set<string>>();
  private readonly namespaceObjects = new Set<string>();
  private readonly namespaceRefs = new Map<string, number>();
  private readonly clusterIpOwners = new Map<string, Set<string>>();
  private readonly endpointIpOwners = new Map<string, Set<string>>();
  private readonly listeners = new Set<() => void>();
  private readonly clock: () => number;
  private gen = 0;
  private serialValue: number;
  private syncedValue: boolean;

  constructor(options: DnsIndexOptions = {}) {
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.serialValue = this.clock() >>> 0;
    this.syncedValue = options.synced ?? true;
  }

  /** A new index holding `objects` (other kinds are ignored). */
  static from(objects: Iterable<{ kind?: string }>, options?: DnsIndexOptions): DnsIndex {
    const index = new DnsIndex(options);
    for (const o of objects) index.upsert(o as IndexedObject);
    return index;
  }

  /** Bumped by every change; caches compare it. */
  get generation(): number {
    return this.gen;
  }

  /** SOA serial: the clock's seconds at the last change. */
  get serial(): number {
    return this.serialValue;
  }

  /** Whether the index has seen the whole cluster (see {@link DnsIndexOptions.synced}). */
  get synced(): boolean {
    return this.syncedValue;
  }

  /** Mark the index as synced (or not). */
  setSynced(synced: boolean): void {
    if (this.syncedValue !== synced) {
      this.syncedValue = synced;
      this.changed();
    }
  }

  /** Call `listener` after every change; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Add or replace an object. Objects of other kinds are ignored and reported with `false`. */
  upsert(obj: IndexedObject): boolean {
    switch (kindOf(obj as { kind?: string })) {
      case "Service":
        this.upsertService(obj as Service);
        return true;
      case "EndpointSlice":
        this.upsertSlice(obj as EndpointSlice);
        return true;
      case "Pod":
        this.upsertPod(obj as Pod);
        return true;
      case "ServiceImport":
        this.upsertImport(obj as ServiceImport);
        return true;
      case "Namespace": {
        const name = (obj as Namespace).metadata?.name;
        if (name === undefined) return false;
        this.namespaceObjects.add(name);
        this.changed();
        return true;
      }
      default:
        return false;
    }
  }

  /** Remove an object (matched by kind, namespace and name). Returns whether it was known. */
  remove(obj: { kind?: string; metadata?: { name?: string; namespace?: string } }): boolean {
    const ns = nsOf(obj.metadata);
    const name = obj.metadata?.name ?? "";
    const key = `${ns}/${name}`;
    switch (kindOf(obj)) {
      case "Service": {
        if (!this.services.delete(key)) return false;
        this.unref(ns);
        this.recompute(key);
        break;
      }
      case "EndpointSlice": {
        if (!this.slices.delete(key)) return false;
        const owner = this.sliceOwner.get(key);
        this.sliceOwner.delete(key);
        if (owner !== undefined) {
          removeFrom(this.slicesOf, owner, key);
          this.recompute(owner);
        }
        const mcOwner = this.mcSliceOwner.get(key);
        this.mcSliceOwner.delete(key);
        if (mcOwner !== undefined) {
          removeFrom(this.mcSlicesOf, mcOwner, key);
          this.recomputeImport(mcOwner);
        }
        break;
      }
      case "ServiceImport": {
        if (!this.imports.delete(key)) return false;
        this.unref(ns);
        this.importViews.delete(key);
        break;
      }
      case "Pod": {
        if (!this.podRefs.delete(key)) return false;
        const old = this.pods.get(key);
        if (old !== undefined) {
          this.pods.delete(key);
          removeFrom(this.podsByIp, old.ip, key);
        }
        this.unref(ns);
        break;
      }
      case "Namespace":
        if (!this.namespaceObjects.delete(name)) return false;
        break;
      default:
        return false;
    }
    this.changed();
    return true;
  }

  /** The Service `namespace/name` as DNS sees it. */
  service(namespace: string, name: string): ServiceView | undefined {
    return this.views.get(`${namespace}/${name}`);
  }

  /** The ServiceImport `namespace/name` as DNS sees it (for `multicluster` zones). */
  serviceImport(namespace: string, name: string): ServiceImportView | undefined {
    return this.importViews.get(`${namespace}/${name}`);
  }

  /** Every Service view (in no particular order). */
  allServices(): IterableIterator<ServiceView> {
    return this.views.values();
  }

  /**
   * Whether a namespace exists: a Namespace object was given, or (for manifests
   * without Namespace objects) some Service or Pod lives in it.
   */
  namespaceExists(namespace: string): boolean {
    return this.namespaceObjects.has(namespace) || (this.namespaceRefs.get(namespace) ?? 0) > 0;
  }

  /** Services whose ClusterIP is `ip` (canonical text). */
  servicesWithClusterIp(ip: string): ServiceView[] {
    return this.viewsOf(this.clusterIpOwners.get(ip));
  }

  /** Services with a ready endpoint at `ip` (canonical text). */
  servicesWithEndpointIp(ip: string): ServiceView[] {
    return this.viewsOf(this.endpointIpOwners.get(ip));
  }

  /** Running (non-terminating) pods whose primary IP is `ip` (canonical text). */
  podsWithIp(ip: string): PodView[] {
    const out: PodView[] = [];
    for (const k of this.podsByIp.get(ip) ?? []) {
      const p = this.pods.get(k);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  private viewsOf(keys: Set<string> | undefined): ServiceView[] {
    const out: ServiceView[] = [];
    for (const k of [...(keys ?? [])].sort()) {
      const v = this.views.get(k);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  private upsertService(svc: Service): void {
    const ns = nsOf(svc.metadata);
    const key = `${ns}/${svc.metadata?.name ?? ""}`;
    if (!this.services.has(key)) this.ref(ns);
    this.services.set(key, svc);
    this.recompute(key);
    this.changed();
  }

  private upsertSlice(slice: EndpointSlice): void {
    const ns = nsOf(slice.metadata);
    const key = `${ns}/${slice.metadata?.name ?? ""}`;
    const svcName = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
    const owner = svcName === undefined ? undefined : `${ns}/${svcName}`;
    const oldOwner = this.sliceOwner.get(key);
    this.slices.set(key, slice);
    if (oldOwner !== undefined && oldOwner !== owner) {
      removeFrom(this.slicesOf, oldOwner, key);
      this.recompute(oldOwner);
    }
    if (owner === undefined) {
      this.sliceOwner.delete(key);
    } else {
      this.sliceOwner.set(key, owner);
      addTo(this.slicesOf, owner, key);
      this.recompute(owner);
    }
    const mcName = slice.metadata?.labels?.[MC_SERVICE_NAME_LABEL];
    const mcOwner = mcName === undefined ? undefined : `${ns}/${mcName}`;
    const oldMcOwner = this.mcSliceOwner.get(key);
    if (oldMcOwner !== undefined && oldMcOwner !== mcOwner) {
      removeFrom(this.mcSlicesOf, oldMcOwner, key);
      this.recomputeImport(oldMcOwner);
    }
    if (mcOwner === undefined) this.mcSliceOwner.delete(key);
    else {
      this.mcSliceOwner.set(key, mcOwner);
      addTo(this.mcSlicesOf, mcOwner, key);
      this.recomputeImport(mcOwner);
    }
    this.changed();
  }

  private upsertImport(imp: ServiceImport): void {
    const ns = nsOf(imp.metadata);
    const key = `${ns}/${imp.metadata?.name ?? ""}`;
    if (!this.imports.has(key)) this.ref(ns);
    this.imports.set(key, imp);
    this.recomputeImport(key);
    this.changed();
  }

  private recomputeImport(key: string): void {
    const imp = this.imports.get(key);
    if (imp === undefined) {
      this.importViews.delete(key);
      return;
    }
    const spec = imp.spec ?? {};
    const ips: string[] = [];
    for (const t of spec.ips ?? []) {
      const a = canonicalIp(t);
      if (a !== undefined) ips.push(a.toString());
    }
    const endpoints: ClusterEndpointView[] = [];
    this.readyEndpoints(this.mcSlicesOf.get(key), (view, slice) =>
      endpoints.push({ ...view, cluster: slice.metadata?.labels?.[MC_SOURCE_CLUSTER_LABEL] ?? "" }),
    );
    this.importViews.set(key, {
      namespace: nsOf(imp.metadata),
      name: imp.metadata?.name ?? "",
      kind: spec.type === "Headless" ? "Headless" : "ClusterSetIP",
      ips,
      ports: portViews(spec.ports),
      endpoints,
    });
  }

  private upsertPod(pod: Pod): void {
    const ns = nsOf(pod.metadata);
    const name = pod.metadata?.name ?? "";
    const key = `${ns}/${name}`;
    const old = this.pods.get(key);
    if (old !== undefined) {
      removeFrom(this.podsByIp, old.ip, key);
      this.pods.delete(key);
    } else if (!this.podRefs.has(key)) {
      this.podRefs.add(key);
      this.ref(ns);
    }
    const ip = canonicalIp(pod.status?.podIP);
    const terminating = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
    if (ip !== undefined && !terminating) {
      const view: PodView = { namespace: ns, name, ip: ip.toString() };
      this.pods.set(key, view);
      addTo(this.podsByIp, view.ip, key);
    }
    this.changed();
  }

  private readonly podRefs = new Set<string>();

  private ref(ns: string): void {
    this.namespaceRefs.set(ns, (this.namespaceRefs.get(ns) ?? 0) + 1);
  }

  private unref(ns: string): void {
    const n = (this.namespaceRefs.get(ns) ?? 0) - 1;
    if (n <= 0) this.namespaceRefs.delete(ns);
    else this.namespaceRefs.set(ns, n);
  }

  private recompute(key: string): void {
    const old = this.views.get(key);
    if (old !== undefined) {
      for (const ip of old.clusterIPs) removeFrom(this.clusterIpOwners, ip, key);
      for (const ep of old.endpoints) removeFrom(this.endpointIpOwners, ep.ip, key);
      this.views.delete(key);
    }
    const svc = this.services.get(key);
    if (svc === undefined) return;
    const view = this.buildView(svc, key);
    this.views.set(key, view);
    for (const ip of view.clusterIPs) addTo(this.clusterIpOwners, ip, key);
    for (const ep of view.endpoints) addTo(this.endpointIpOwners, ep.ip, key);
  }

  private buildView(svc: Service, key: string): ServiceView {
    const spec = svc.spec ?? {};
    const namespace = nsOf(svc.metadata);
    const name = svc.metadata?.name ?? "";
    const ports = portViews(spec.ports);
    if (spec.type === "ExternalName") {
      const view: ServiceView = { namespace, name, kind: "ExternalName", clusterIPs: [], ports, endpoints: [] };
      return spec.externalName === undefined ? view : { ...view, externalName: spec.externalName };
    }
    const rawIps =
      spec.clusterIPs !== undefined && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ""];
    const headless = rawIps[0] === "None";
    const clusterIPs: string[] = [];
    if (!headless) {
      for (const t of rawIps) {
        const a = canonicalIp(t);
        if (a !== undefined) clusterIPs.push(a.toString());
      }
    }
    const endpoints: EndpointView[] = [];
    this.readyEndpoints(this.slicesOf.get(key), (view) => endpoints.push(view));
    return { namespace, name, kind: headless ? "Headless" : "ClusterIP", clusterIPs, ports, endpoints };
  }

  /** Each ready address of the EndpointSlices `sliceKeys`, in slice-name order (CoreDNS keeps an address unless `ready` is false). */
  private readyEndpoints(
    sliceKeys: Set<string> | undefined,
    each: (view: EndpointView, slice: EndpointSlice) => void,
  ): void {
    for (const sk of [...(sliceKeys ?? [])].sort()) {
      const slice = this.slices.get(sk);
      if (slice === undefined) continue;
      const slicePorts = portViews(
        (slice.ports ?? []).filter((p): p is typeof p & { port: number } => typeof p.port === "number"),
      );
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        for (const text of ep.addresses ?? []) {
          const a = canonicalIp(text);
          if (a === undefined) continue;
          let view: EndpointView = { ip: a.toString(), family: a.family, ports: slicePorts };
          if (ep.hostname) view = { ...view, hostname: ep.hostname };
          if (ep.targetRef?.kind === "Pod" && ep.targetRef.name) view = { ...view, podName: ep.targetRef.name };
          each(view, slice);
        }
      }
    }
  }

  private changed(): void {
    this.gen++;
    this.serialValue = this.clock() >>> 0;
    for (const l of this.listeners) l();
  }
}

/**
 * A small in-memory API server: objects by kind/namespace/name, change events
 * for subscribers (engines do incremental work from them), label indexes for
 * selectors, and the EndpointSlice controller running on every change.
 */
import { type DefaultingOptions, defaultObject } from "./defaults.js";
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  type EndpointSliceOptions,
  endpointSlicesFor,
  hasControllerSlices,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
} from "./endpoint-slices.js";
import { jsonEqual } from "./internal/json.js";
import { LabelIndex } from "./label-index.js";
import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  EndpointSlice,
  KubeKind,
  KubeObject,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  Node,
  Pod,
  Service,
} from "./objects.js";
import { NAMESPACED_KINDS } from "./objects.js";
import type { Labels } from "./selector.js";

/** What happened to an object. */
export type ChangeType = "added" | "updated" | "deleted";

/** Object type per kind. */
export interface KindMap {
  /** v1 Service. */
  Service: Service & { kind: "Service" };
  /** v1 Pod. */
  Pod: Pod & { kind: "Pod" };
  /** v1 Node. */
  Node: Node & { kind: "Node" };
  /** v1 Namespace. */
  Namespace: Namespace & { kind: "Namespace" };
  /** discovery.k8s.io/v1 EndpointSlice. */
  EndpointSlice: EndpointSlice & { kind: "EndpointSlice" };
  /** networking.k8s.io/v1 NetworkPolicy. */
  NetworkPolicy: NetworkPolicy & { kind: "NetworkPolicy" };
  /** policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy. */
  AdminNetworkPolicy: AdminNetworkPolicy & { kind: "AdminNetworkPolicy" };
  /** policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy. */
  BaselineAdminNetworkPolicy: BaselineAdminNetworkPolicy & { kind: "BaselineAdminNetworkPolicy" };
}

/** One change to an object of kind `K`. For `deleted`, `object` is the last state; for `updated`, `old` is the previous one. */
export interface KindChangeEvent<K extends KubeKind> {
  /** What happened. */
  readonly type: ChangeType;
  /** The object's kind (narrows `object`). */
  readonly kind: K;
  /** Namespace (`""` for cluster-scoped kinds). */
  readonly namespace: string;
  /** Object name. */
  readonly name: string;
  /** The object now (or, when deleted, as it was). */
  readonly object: KindMap[K];
  /** The previous object, for `updated`. */
  readonly old?: KindMap[K];
}

/** One change, discriminated by `kind`: `if (e.kind === "Service") e.object.spec` is typed. */
export type ChangeEvent = { [K in KubeKind]: KindChangeEvent<K> }[KubeKind];

/** Receives change events, synchronously, in the order changes happen. */
export type ChangeListener<E extends ChangeEvent = ChangeEvent> = (event: E) => void;

/** Why a strict {@link ClusterState.add} or {@link ClusterState.update} was refused. */
export class StateError extends Error {
  override readonly name = "StateError";
  /** `AlreadyExists` (add) or `NotFound` (update), as the API server says. */
  readonly reason: "AlreadyExists" | "NotFound";
  constructor(reason: "AlreadyExists" | "NotFound", message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Options for {@link ClusterState}. */
export interface ClusterStateOptions extends DefaultingOptions, Omit<EndpointSliceOptions, "nodes"> {
  /** Apply API-server defaults on every add/update. Default true. */
  readonly applyDefaults?: boolean;
  /** Run the EndpointSlice controller for services with selectors. Default true. */
  readonly endpointSliceController?: boolean;
}

/** Options for {@link ClusterState.subscribe}. */
export interface SubscribeOptions<K extends KubeKind = KubeKind> {
  /** Only these kinds (default: all); the listener's event type narrows to them. */
  readonly kinds?: readonly K[];
  /** First deliver an `added` event for every existing object (like an informer's initial list). Default false. */
  readonly replay?: boolean;
}

function nsOf(obj: KubeObject): string {
  return NAMESPACED_KINDS.has(obj.kind) ? (obj.metadata?.namespace ?? "default") : "";
}

function nameOf(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (typeof name !== "string" || name === "")
    throw new TypeError(`${obj.kind} without metadata.name cannot be stored`);
  return name;
}

const REPLAY_ORDER: readonly KubeKind[] = [
  "Namespace",
  "Node",
  "Pod",
  "Service",
  "EndpointSlice",
  "NetworkPolicy",
  "AdminNetworkPolicy",
  "BaselineAdminNetworkPolicy",
];

/**
 * In-memory cluster state with change events, label indexes and the EndpointSlice
 * controller. `apply` adds or replaces (no event when nothing changed); `delete`
 * removes. Controller-written slices appear as ordinary EndpointSlice events right
 * after the change that caused them. Nodes: while the store has none, pods are not
 * checked against nodes; once any Node exists, pods on unknown nodes are left out
 * of slices as upstream does. Deletes do not cascade (deleting a Namespace keeps
 * its objects), and objects are not validated here (see `validateManifests`).
 * Every object needs `metadata.name` (a TypeError otherwise).
 */
export class ClusterState {
  private readonly options: ClusterStateOptions;
  private readonly store = new Map<KubeKind, Map<string, Map<string, KubeObject>>>();
  private readonly listeners = new Set<{ fn: ChangeListener; kinds: ReadonlySet<KubeKind> | undefined }>();
  /** namespace -> pod label index */
  private readonly podLabels = new Map<string, LabelIndex<string>>();
  /** node name -> "ns/name" of pods on it */
  private readonly podsByNode = new Map<string, Set<string>>();
  /** namespace -> key -> value -> service names whose selector has that pair */
  private readonly serviceSelectors = new Map<string, Map<string, Map<string, Set<string>>>>();
  /** The Nodes by name, for the controller (rebuilt after a Node changes). */
  private nodesByName: Map<string, Node> | undefined;
  /** namespace -> service name -> slice names labelled with it */
  private readonly slicesByService = new Map<string, Map<string, Set<string>>>();
  private readonly namespaceLabels = new LabelIndex<string>();
  /** While batching (applyAll), services to reconcile at the end. */
  private pending: Set<string> | undefined;

  constructor(options: ClusterStateOptions = {}) {
    this.options = options;
  }

  /** Add or replace an object (defaulted unless `applyDefaults: false`). Returns the event, or undefined when nothing changed. */
  apply(input: KubeObject): ChangeEvent | undefined {
    const obj = this.options.applyDefaults === false ? input : defaultObject(input, this.options);
    const ev = this.put(obj);
    if (ev !== undefined) this.afterChange(ev);
    return ev;
  }

  /**
   * Create: like {@link ClusterState.apply} but refuses an object that already exists.
   *
   * @throws {@link StateError} `AlreadyExists`.
   */
  add(input: KubeObject): ChangeEvent {
    if (this.get(input.kind, input.metadata?.namespace ?? "default", input.metadata?.name ?? "") !== undefined) {
      throw new StateError(
        "AlreadyExists",
        `${input.kind} ${input.metadata?.namespace ?? ""}/${input.metadata?.name} already exists`,
      );
    }
    return this.apply(input) as ChangeEvent;
  }

  /**
   * Update: like {@link ClusterState.apply} but refuses an object that does not exist.
   * Returns undefined when nothing changed.
   *
   * @throws {@link StateError} `NotFound`.
   */
  update(input: KubeObject): ChangeEvent | undefined {
    if (this.get(input.kind, input.metadata?.namespace ?? "default", input.metadata?.name ?? "") === undefined) {
      throw new StateError(
        "NotFound",
        `${input.kind} ${input.metadata?.namespace ?? ""}/${input.metadata?.name} not found`,
      );
    }
    return this.apply(input);
  }

  /**
   * Apply many objects in order, as one batch: the EndpointSlice controller runs
   * once per affected service at the end (as the real controller coalesces syncs),
   * so slice events follow the object events. Returns every event that happened.
   */
  applyAll(objects: Iterable<KubeObject>): ChangeEvent[] {
    const events: ChangeEvent[] = [];
    const collect: ChangeListener = (e) => {
      events.push(e);
    };
    const entry = { fn: collect, kinds: undefined };
    this.listeners.add(entry);
    const outer = this.pending;
    const pending = outer ?? new Set<string>();
    this.pending = pending;
    try {
      for (const o of objects) this.apply(o);
    } finally {
      if (outer === undefined) {
        this.pending = undefined;
        for (const key of [...pending].sort()) this.reconcileKey(key);
      }
      this.listeners.delete(entry);
    }
    return events;
  }

  /** Delete an object by kind, namespace (ignored for cluster-scoped kinds) and name. Returns the event, or undefined when absent. */
  delete(kind: KubeKind, namespace: string, name: string): ChangeEvent | undefined {
    const ns = NAMESPACED_KINDS.has(kind) ? namespace || "default" : "";
    const byNs = this.store.get(kind)?.get(ns);
    const old = byNs?.get(name);
    if (byNs === undefined || old === undefined) return undefined;
    byNs.delete(name);
    const ev = { type: "deleted", kind, namespace: ns, name, object: old } as ChangeEvent;
    this.unindex(old, ns, name);
    this.emit(ev);
    this.afterChange(ev);
    return ev;
  }

  /** One object, or undefined. */
  get<K extends KubeKind>(kind: K, namespace: string, name: string): KindMap[K] | undefined {
    const ns = NAMESPACED_KINDS.has(kind) ? namespace || "default" : "";
    return this.store.get(kind)?.get(ns)?.get(name) as KindMap[K] | undefined;
  }

  /** All objects of a kind, optionally in one namespace. */
  list<K extends KubeKind>(kind: K, namespace?: string): KindMap[K][] {
    const byNs = this.store.get(kind);
    if (byNs === undefined) return [];
    if (namespace !== undefined && NAMESPACED_KINDS.has(kind))
      return [...(byNs.get(namespace)?.values() ?? [])] as KindMap[K][];
    const out: KubeObject[] = [];
    for (const m of byNs.values()) out.push(...m.values());
    return out as KindMap[K][];
  }

  /** Number of stored objects of a kind. */
  count(kind: KubeKind): number {
    let n = 0;
    for (const m of this.store.get(kind)?.values() ?? []) n += m.size;
    return n;
  }

  /** Every stored object, namespaces and nodes first. */
  all(): KubeObject[] {
    return REPLAY_ORDER.flatMap((k) => this.list(k));
  }

  /** Pods in `namespace` matching a LabelSelector (absent selects nothing), through the label index. */
  podsSelectedBy(namespace: string, selector: LabelSelector | null | undefined): KindMap["Pod"][] {
    const idx = this.podLabels.get(namespace);
    if (idx === undefined) return [];
    return idx.select(selector).map((n) => this.get("Pod", namespace, n) as KindMap["Pod"]);
  }

  /** Pods in `namespace` matching a Service-style label map (`{}` selects all). */
  podsMatching(namespace: string, labels: Labels): KindMap["Pod"][] {
    const idx = this.podLabels.get(namespace);
    if (idx === undefined) return [];
    return idx.selectMap(labels).map((n) => this.get("Pod", namespace, n) as KindMap["Pod"]);
  }

  /** Namespaces whose labels (with `kubernetes.io/metadata.name`) match a selector. */
  namespacesSelectedBy(selector: LabelSelector | null | undefined): KindMap["Namespace"][] {
    return this.namespaceLabels.select(selector).map((n) => this.get("Namespace", "", n) as KindMap["Namespace"]);
  }

  /** The EndpointSlices of a service (controller-written and user-written), by the `kubernetes.io/service-name` label. */
  endpointSlicesOf(namespace: string, service: string): KindMap["EndpointSlice"][] {
    const names = this.slicesByService.get(namespace)?.get(service);
    if (names === undefined) return [];
    return [...names].map((n) => this.get("EndpointSlice", namespace, n) as KindMap["EndpointSlice"]);
  }

  /**
   * Listen to changes. Returns a function that unsubscribes. With `replay`, first
   * receives `added` for every existing object (namespaces, nodes, pods, services,
   * slices, policies).
   */
  subscribe<K extends KubeKind = KubeKind>(
    listener: ChangeListener<Extract<ChangeEvent, { kind: K }>>,
    options: SubscribeOptions<K> = {},
  ): () => void {
    const fn = listener as unknown as ChangeListener;
    const kinds = options.kinds !== undefined ? new Set<KubeKind>(options.kinds) : undefined;
    if (options.replay === true) {
      for (const kind of REPLAY_ORDER) {
        if (kinds !== undefined && !kinds.has(kind)) continue;
        for (const o of this.list(kind))
          fn({ type: "added", kind, namespace: nsOf(o), name: nameOf(o), object: o } as ChangeEvent);
      }
    }
    const entry = { fn, kinds: kinds as ReadonlySet<KubeKind> | undefined };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  private emit(ev: ChangeEvent): void {
    for (const l of this.listeners) if (l.kinds === undefined || l.kinds.has(ev.kind)) l.fn(ev);
  }

  /** Store without running the controller; emits the event. */
  private put(obj: KubeObject): ChangeEvent | undefined {
    const ns = nsOf(obj);
    const name = nameOf(obj);
    let byNs = this.store.get(obj.kind);
    if (byNs === undefined) {
      byNs = new Map();
      this.store.set(obj.kind, byNs);
    }
    let m = byNs.get(ns);
    if (m === undefined) {
      m = new Map();
      byNs.set(ns, m);
    }
    const old = m.get(name);
    if (old !== undefined && jsonEqual(old, obj)) return undefined;
    m.set(name, obj);
    if (old !== undefined) this.unindex(old, ns, name);
    this.index(obj, ns, name);
    const ev = (
      old === undefined
        ? { type: "added", kind: obj.kind, namespace: ns, name, object: obj }
        : { type: "updated", kind: obj.kind, namespace: ns, name, object: obj, old }
    ) as ChangeEvent;
    this.emit(ev);
    return ev;
  }

  private index(obj: KubeObject, ns: string, name: string): void {
    switch (obj.kind) {
      case "Pod": {
        let idx = this.podLabels.get(ns);
        if (idx === undefined) {
          idx = new LabelIndex();
          this.podLabels.set(ns, idx);
        }
        idx.set(name, obj.metadata?.labels);
        const node = obj.spec?.nodeName;
        if (node !== undefined && node !== "") {
          let s = this.podsByNode.get(node);
          if (s === undefined) {
            s = new Set();
            this.podsByNode.set(node, s);
          }
          s.add(`${ns}/${name}`);
        }
        break;
      }
      case "Service": {
        let m = this.serviceSelectors.get(ns);
        if (m === undefined) {
          m = new Map();
          this.serviceSelectors.set(ns, m);
        }
        const selector = obj.spec?.selector;
        for (const k in selector) {
          const v = selector[k] as string;
          let values = m.get(k);
          if (values === undefined) {
            values = new Map();
            m.set(k, values);
          }
          let s = values.get(v);
          if (s === undefined) {
            s = new Set();
            values.set(v, s);
          }
          s.add(name);
        }
        break;
      }
      case "EndpointSlice": {
        const svc = obj.metadata?.labels?.[LABEL_SERVICE_NAME];
        if (svc === undefined) break;
        let m = this.slicesByService.get(ns);
        if (m === undefined) {
          m = new Map();
          this.slicesByService.set(ns, m);
        }
        let s = m.get(svc);
        if (s === undefined) {
          s = new Set();
          m.set(svc, s);
        }
        s.add(name);
        break;
      }
      case "Namespace":
        this.namespaceLabels.set(name, obj.metadata?.labels);
        break;
      default:
        break;
    }
  }

  private unindex(obj: KubeObject, ns: string, name: string): void {
    switch (obj.kind) {
      case "Pod": {
        this.podLabels.get(ns)?.delete(name);
        const node = obj.spec?.nodeName;
        if (node !== undefined) this.podsByNode.get(node)?.delete(`${ns}/${name}`);
        break;
      }
      case "Service": {
        const m = this.serviceSelectors.get(ns);
        const selector = obj.spec?.selector;
        for (const k in selector)
          m?.get(k)
            ?.get(selector[k] as string)
            ?.delete(name);
        break;
      }
      case "EndpointSlice": {
        const svc = obj.metadata?.labels?.[LABEL_SERVICE_NAME];
        if (svc !== undefined) this.slicesByService.get(ns)?.get(svc)?.delete(name);
        break;
      }
      case "Namespace":
        this.namespaceLabels.delete(name);
        break;
      default:
        break;
    }
  }

  /** Services in `ns` whose selector shares a pair with `labels`. */
  private servicesTouching(ns: string, labels: Labels | undefined, into: Set<string>): void {
    const m = this.serviceSelectors.get(ns);
    if (m === undefined || labels === undefined || labels === null) return;
    for (const k in labels) {
      const names = m.get(k)?.get(labels[k] as string);
      if (names !== undefined) for (const s of names) into.add(`${ns}/${s}`);
    }
  }

  private afterChange(ev: ChangeEvent): void {
    if (this.options.endpointSliceController === false) return;
    if (ev.kind === "Node") this.nodesByName = undefined;
    // While batching, affected services go straight to the batch's set.
    const affected = this.pending ?? new Set<string>();
    switch (ev.kind) {
      case "Service":
        affected.add(`${ev.namespace}/${ev.name}`);
        break;
      case "Pod": {
        this.servicesTouching(ev.namespace, ev.object.metadata?.labels, affected);
        if (ev.old !== undefined) this.servicesTouching(ev.namespace, ev.old.metadata?.labels, affected);
        break;
      }
      case "Node": {
        if (this.count("Node") === (ev.type === "added" ? 1 : 0)) {
          // The first node appeared or the last one left: node checks switch on/off.
          for (const s of this.list("Service")) affected.add(`${nsOf(s)}/${s.metadata?.name}`);
          break;
        }
        for (const key of this.podsByNode.get(ev.name) ?? []) {
          const [ns, pod] = key.split("/") as [string, string];
          this.servicesTouching(ns, this.get("Pod", ns, pod)?.metadata?.labels, affected);
        }
        break;
      }
      default:
        return;
    }
    if (affected === this.pending) return;
    for (const key of [...affected].sort()) this.reconcileKey(key);
  }

  private reconcileKey(key: string): void {
    const i = key.indexOf("/");
    this.reconcileService(key.slice(0, i), key.slice(i + 1));
  }

  /** Make the controller-managed slices of one service match what the controller would write. */
  private reconcileService(ns: string, name: string): void {
    const svc = this.get("Service", ns, name);
    const desired = new Map<string, EndpointSlice>();
    if (svc !== undefined && hasControllerSlices(svc)) {
      const pods = this.podsMatching(ns, svc.spec?.selector ?? {});
      if (this.nodesByName === undefined)
        this.nodesByName = new Map(this.list("Node").map((n) => [n.metadata?.name ?? "", n]));
      const nodes = this.nodesByName;
      const opts: EndpointSliceOptions = {
        ...(nodes.size > 0 ? { nodes } : {}),
        ...(this.options.maxEndpointsPerSlice !== undefined
          ? { maxEndpointsPerSlice: this.options.maxEndpointsPerSlice }
          : {}),
        ...(this.options.nameSuffix !== undefined ? { nameSuffix: this.options.nameSuffix } : {}),
      };
      for (const s of endpointSlicesFor(svc, pods, opts)) desired.set(s.metadata?.name ?? "", s);
    }
    for (const existing of this.endpointSlicesOf(ns, name)) {
      if (existing.metadata?.labels?.[LABEL_MANAGED_BY] !== ENDPOINTSLICE_CONTROLLER_NAME) continue;
      const n = existing.metadata?.name ?? "";
      if (!desired.has(n)) this.delete("EndpointSlice", ns, n);
    }
    for (const slice of desired.values()) this.put(slice as KubeObject);
  }
}

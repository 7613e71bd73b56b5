/**
 * Pods, namespaces and nodes indexed for policy evaluation: by `ns/name`, by IP,
 * with namespace labels (including the `kubernetes.io/metadata.name` label the
 * API server keeps) and each pod's named container ports.
 */
import { type Labels, NAMESPACE_NAME_LABEL, type Namespace, type Node, type Pod } from "@knet/k8s";
import { Addr } from "@knet/netstack";
import type { PolicyProtocol } from "./types.js";

/** A pod as the engine sees it. */
export interface PodView {
  /** `ns/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** The pod's namespace labels. */
  readonly nsLabels: Labels;
  /** Pod IPs, primary first. */
  readonly ips: readonly Addr[];
  readonly hostNetwork: boolean;
  /** Container port name -> number and protocol. */
  readonly namedPorts: ReadonlyMap<string, { readonly port: number; readonly protocol: PolicyProtocol }>;
  /** Position in the view's sorted pod list. */
  readonly index: number;
  /** Number of pods in the view (sizes per-pod memos). */
  readonly total: number;
  /** Index of the pod's namespace (keys namespace-selector memos). */
  readonly nsIndex: number;
  /** Number of namespaces in the view. */
  readonly nsTotal: number;
}

/** A node: its labels and addresses. */
export interface NodeView {
  readonly name: string;
  readonly labels: Labels;
  readonly ips: readonly Addr[];
}

/**
 * An endpoint of a flow after resolution. Every variant has the same fields in
 * the same order (one hidden class on the hot path).
 */
export type Endpoint =
  | {
      readonly kind: "pod";
      readonly pod: PodView;
      readonly node: undefined;
      readonly name: string;
      readonly ip: Addr | undefined;
    }
  | {
      readonly kind: "node";
      readonly pod: undefined;
      readonly node: NodeView | undefined;
      readonly name: string;
      readonly ip: Addr | undefined;
    }
  | {
      readonly kind: "external";
      readonly pod: undefined;
      readonly node: undefined;
      readonly name: string;
      readonly ip: Addr;
    };

/** The endpoint of a pod at one of its IPs. */
export function podEndpoint(pod: PodView, ip: Addr | undefined): Endpoint {
  return { kind: "pod", pod, node: undefined, name: pod.key, ip };
}

function nodeEndpoint(name: string, node: NodeView | undefined, ip: Addr | undefined): Endpoint {
  return { kind: "node", pod: undefined, node, name, ip };
}

function tryAddr(text: string | undefined): Addr | undefined {
  if (text === undefined || text === "") return undefined;
  try {
    return Addr.parse(text);
  } catch {
    return undefined;
  }
}

/** Pods, namespaces and nodes with the lookups policy evaluation needs. */
export class ClusterView {
  /** Pods sorted by namespace then name. */
  readonly pods: readonly PodView[];
  private readonly byKey = new Map<string, PodView>();
  private readonly byIp = new Map<string, PodView>();
  private readonly nsLabelMap = new Map<string, Labels>();
  /** Nodes in input order. */
  readonly nodes: readonly NodeView[];
  private readonly nodeByIp = new Map<string, NodeView>();
  private readonly hostNetIp = new Map<string, PodView>();
  private readonly primary: Endpoint[] = [];

  constructor(pods: readonly Pod[], namespaces: readonly Namespace[], nodes: readonly Node[]) {
    for (const ns of namespaces) {
      const name = ns.metadata?.name;
      if (name === undefined) continue;
      this.nsLabelMap.set(name, { ...(ns.metadata?.labels ?? {}), [NAMESPACE_NAME_LABEL]: name });
    }
    const sorted = [...pods].sort((a, b) => {
      const an = a.metadata?.namespace ?? "default";
      const bn = b.metadata?.namespace ?? "default";
      if (an !== bn) return an < bn ? -1 : 1;
      const am = a.metadata?.name ?? "";
      const bm = b.metadata?.name ?? "";
      return am < bm ? -1 : am > bm ? 1 : 0;
    });
    const views: PodView[] = [];
    const nsIndexes = new Map<string, number>();
    for (const p of sorted) {
      const n = p.metadata?.namespace ?? "default";
      if (!nsIndexes.has(n)) nsIndexes.set(n, nsIndexes.size);
    }
    for (const p of sorted) {
      const namespace = p.metadata?.namespace ?? "default";
      const name = p.metadata?.name ?? "";
      const key = `${namespace}/${name}`;
      if (this.byKey.has(key)) throw new RangeError(`pod ${key} is listed twice`);
      const ips: Addr[] = [];
      for (const t of [p.status?.podIP, ...(p.status?.podIPs ?? []).map((x) => x.ip)]) {
        const a = tryAddr(t);
        if (a !== undefined && !ips.some((x) => x.equals(a))) ips.push(a);
      }
      const namedPorts = new Map<string, { port: number; protocol: PolicyProtocol }>();
      for (const c of p.spec?.containers ?? []) {
        for (const cp of c.ports ?? []) {
          if (cp.name !== undefined && cp.name !== "") {
            namedPorts.set(cp.name, { port: cp.containerPort, protocol: (cp.protocol ?? "TCP") as PolicyProtocol });
          }
        }
      }
      const view: PodView = {
        key,
        namespace,
        name,
        labels: p.metadata?.labels ?? {},
        nsLabels: this.namespaceLabels(namespace),
        ips,
        hostNetwork: p.spec?.hostNetwork === true,
        namedPorts,
        index: views.length,
        total: sorted.length,
        nsIndex: nsIndexes.get(namespace) as number,
        nsTotal: nsIndexes.size,
      };
      views.push(view);
      this.byKey.set(key, view);
      for (const ip of ips) {
        if (view.hostNetwork) this.hostNetIp.set(ip.toString(), view);
        else this.byIp.set(ip.toString(), view);
      }
    }
    this.pods = views;
    for (const v of views)
      this.primary.push(v.hostNetwork ? nodeEndpoint(v.key, undefined, v.ips[0]) : podEndpoint(v, v.ips[0]));
    const nodeViews: NodeView[] = [];
    for (const n of nodes) {
      const ips: Addr[] = [];
      for (const a of n.status?.addresses ?? []) {
        if (a.type !== "InternalIP" && a.type !== "ExternalIP") continue;
        const addr = tryAddr(a.address);
        if (addr !== undefined) ips.push(addr);
      }
      const v: NodeView = { name: n.metadata?.name ?? "", labels: n.metadata?.labels ?? {}, ips };
      nodeViews.push(v);
      for (const ip of ips) this.nodeByIp.set(ip.toString(), v);
    }
    this.nodes = nodeViews;
  }

  /** The endpoint of pod number `i` at its primary IP. */
  endpointAt(i: number): Endpoint {
    const e = this.primary[i];
    if (e === undefined) throw new RangeError(`no pod at index ${i}`);
    return e;
  }

  /** Labels of a namespace (with `kubernetes.io/metadata.name` synthesised). */
  namespaceLabels(ns: string): Labels {
    let l = this.nsLabelMap.get(ns);
    if (l === undefined) {
      l = { [NAMESPACE_NAME_LABEL]: ns };
      this.nsLabelMap.set(ns, l);
    }
    return l;
  }

  /** Namespaces known from Namespace objects or pods, sorted. */
  namespaceNames(): string[] {
    const s = new Set(this.nsLabelMap.keys());
    for (const p of this.pods) s.add(p.namespace);
    return [...s].sort();
  }

  /** A pod by `ns/name`. */
  pod(key: string): PodView | undefined {
    return this.byKey.get(key);
  }

  /** The (non-hostNetwork) pod owning an IP. */
  podByIp(ip: Addr): PodView | undefined {
    return this.byIp.get(ip.toString());
  }

  /**
   * Resolve `ns/name` or an IP. `hostNetworkAsNode`: hostNetwork pods are node
   * endpoints (never policy subjects).
   * @throws RangeError for an unknown pod or text that is neither a pod nor an IP.
   */
  resolve(text: string, hostNetworkAsNode: boolean, peerFamily?: 4 | 6): Endpoint {
    const addr = text.includes("/") ? undefined : tryAddr(text);
    if (addr === undefined) {
      const pod = this.byKey.get(text);
      if (pod === undefined) {
        throw new RangeError(
          text.includes("/")
            ? `unknown pod ${text}`
            : `${JSON.stringify(text)} is neither a pod (ns/name) nor an IP address`,
        );
      }
      const first = pod.ips[0];
      if (peerFamily === undefined || first === undefined || first.family === peerFamily) {
        if (!pod.hostNetwork || hostNetworkAsNode) return this.primary[pod.index] as Endpoint;
        return podEndpoint(pod, first);
      }
      const ip = pod.ips.find((a) => a.family === peerFamily) ?? first;
      if (pod.hostNetwork && hostNetworkAsNode) return nodeEndpoint(pod.key, undefined, ip);
      return podEndpoint(pod, ip);
    }
    const pod = this.byIp.get(addr.toString());
    if (pod !== undefined) return podEndpoint(pod, addr);
    const hn = this.hostNetIp.get(addr.toString());
    if (hn !== undefined && !hostNetworkAsNode) return podEndpoint(hn, addr);
    const node = this.nodeByIp.get(addr.toString());
    if (node !== undefined) return nodeEndpoint(node.name, node, addr);
    if (hn !== undefined) return nodeEndpoint(hn.key, undefined, addr);
    return { kind: "external", pod: undefined, node: undefined, name: addr.toString(), ip: addr };
  }
}

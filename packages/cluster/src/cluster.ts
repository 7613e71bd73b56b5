import type { DnsIndex } from "@knet/coredns-lite";
import type { EndpointSlice, KubeObject, Namespace, NetworkPolicy } from "@knet/k8s";
import { defaultObject, loadManifests } from "@knet/k8s";
import { findProxyMode, proxyModeNames } from "@knet/kube-proxy";
import type { PolicyEngine } from "@knet/netpol";
import { type Addr, type Dataplane, Prefix, type Topology } from "@knet/netstack";
import { ClusterError } from "./errors.js";
import type { PolicyDecision, ProxyDecision } from "./hooks.js";
import { type ClusterOptions, type ResolvedClusterOptions, resolveOptions } from "./options.js";
import { BuildState } from "./stages.js";
import type { ClusterNode, ClusterPod, ClusterService, ExternalHost, UserspaceProxy } from "./types.js";

/**
 * A Kubernetes cluster simulated on `@knet/netstack`, built in named stages
 * (see `CLUSTER_STAGES`): nodes with pod CIDRs from the node allocator,
 * ClusterIPs and NodePorts from the API server's allocators, pods wired by the
 * CNI chain (bridge + host-local + portmap) run in-process through
 * `CniRuntime`, a flannel-like overlay, EndpointSlices from the controller and
 * one kube-proxy engine per node, coredns-lite's index as cluster DNS, and
 * NetworkPolicy enforced in every node's forward path. Extensions
 * (`ClusterOptions.extensions`) run after any stage.
 *
 * @example
 * ```ts
 * const cluster = await Cluster.fromManifests(yamlText, { mode: "nftables" });
 * const t = cluster.trace({ from: "shop/frontend", to: "http://api.shop.svc.cluster.local:80" });
 * console.log(formatClusterTrace(t));
 * ```
 */
export class Cluster {
  /** The options in force. */
  readonly options: ResolvedClusterOptions;
  /** The simulated dataplane (every node, pod and the underlay). */
  readonly dataplane: Dataplane;
  /** The topology the dataplane was built from; `realize()` it to build the same cluster in real namespaces. */
  readonly topology: Topology;
  /** Nodes by name. */
  readonly nodes: ReadonlyMap<string, ClusterNode>;
  /** Pods by `namespace/name`. */
  readonly pods: ReadonlyMap<string, ClusterPod>;
  /** Services by `namespace/name`. */
  readonly services: ReadonlyMap<string, ClusterService>;
  /** EndpointSlices (controller-made and hand-written). */
  readonly endpointSlices: readonly EndpointSlice[];
  /** Namespaces. */
  readonly namespaces: readonly Namespace[];
  /** NetworkPolicies. */
  readonly networkPolicies: readonly NetworkPolicy[];
  /** The DNS record index (what coredns-lite serves). */
  readonly dns: DnsIndex;
  /** The NetworkPolicy engine. */
  readonly policy: PolicyEngine;
  /** Hosts outside the cluster that extensions added, by name. */
  readonly externalHosts: ReadonlyMap<string, ExternalHost>;
  /** User-space proxies (gateways, sidecars) that extensions added. */
  readonly userspaceProxies: readonly UserspaceProxy[];
  /** Pods by IP (numeric IPv4 key). */
  private readonly podsByIp: Map<number, ClusterPod>;
  /** Decisions recorded by the hooks since the last {@link Cluster.takeDecisions}. */
  private readonly log: { proxy: ProxyDecision[]; policy: PolicyDecision[] };
  private port = 40000;

  private constructor(b: BuildState) {
    this.options = b.options;
    this.dataplane = b.dataplane();
    this.topology = b.topology as Topology;
    this.nodes = b.nodes as ReadonlyMap<string, ClusterNode>;
    this.pods = b.pods;
    this.services = b.services;
    this.endpointSlices = b.endpointSlices;
    this.namespaces = b.objects.filter((o): o is Namespace => o.kind === "Namespace");
    this.networkPolicies = b.objects.filter((o): o is NetworkPolicy => o.kind === "NetworkPolicy");
    this.dns = b.dns as DnsIndex;
    this.policy = b.policy as PolicyEngine;
    this.externalHosts = b.externalHosts;
    this.userspaceProxies = b.proxies;
    this.log = b.log;
    this.podsByIp = new Map([...b.pods.values()].map((p) => [p.ip.w3, p]));
  }

  /**
   * Build a cluster from manifests (YAML/JSON text, or already loaded objects),
   * stage by stage, running the extensions of `options.extensions` after the
   * stages they name.
   * @throws ClusterError, or the loader's error naming the bad document.
   */
  static async fromManifests(input: string | readonly KubeObject[], options: ClusterOptions = {}): Promise<Cluster> {
    const opts = resolveOptions(options);
    const mode = findProxyMode(opts.mode);
    if (!mode) {
      throw new ClusterError(
        `proxy mode ${JSON.stringify(opts.mode)} is not available (have: ${proxyModeNames().join(", ") || "none"}); register it with registerProxyMode() from @knet/kube-proxy`,
      );
    }
    const objects = (typeof input === "string" ? loadManifests(input) : input).map((o) => defaultObject(o));
    const build = new BuildState(opts, objects, mode);
    await build.run(options.extensions ?? []);
    return new Cluster(build);
  }

  /** The pod with address `ip`, if any. */
  podAt(ip: Addr): ClusterPod | undefined {
    return ip.family === 4 ? this.podsByIp.get(ip.w3) : undefined;
  }

  /** The pod `namespace/name`. @throws ClusterError naming the pods that exist. */
  pod(key: string): ClusterPod {
    const p = this.pods.get(key);
    if (!p) {
      throw new ClusterError(
        `no pod ${JSON.stringify(key)} (pods: ${[...this.pods.keys()].sort().join(", ") || "none"})`,
      );
    }
    return p;
  }

  /** The kube-dns Service IP (`kube-system/kube-dns`), or the tenth address of the service CIDR as kubeadm picks it. */
  clusterDnsIp(): string {
    const svc = this.services.get("kube-system/kube-dns")?.service.spec?.clusterIP;
    return svc ?? Prefix.parse(this.options.serviceCidr).nth(10).toString();
  }

  /** A fresh client port for the next traced connection (so each trace is a new conntrack entry). */
  ephemeralPort(): number {
    this.port = this.port >= 60999 ? 40000 : this.port + 1;
    return this.port;
  }

  /** Hook decisions recorded since the last call (and forget them). */
  takeDecisions(): { proxy: ProxyDecision[]; policy: PolicyDecision[] } {
    const out = { proxy: this.log.proxy.splice(0), policy: this.log.policy.splice(0) };
    return out;
  }
}

import {
  type BridgeTopology,
  bridgePlugin,
  CniRuntime,
  inProcessExec,
  memoryCacheFs,
  type NetConfListInput,
  parseNetConfList,
  portmapPlugin,
  type Result100,
} from "@knet/cni-spec";
import { DnsIndex } from "@knet/coredns-lite";
import { hostLocal, memoryStores, NodeCidrAllocator, NodePortAllocator, ServiceIpAllocator } from "@knet/ipam";
import {
  defaultObject,
  type EndpointSlice,
  endpointSlicesFor,
  type KubeObject,
  loadManifests,
  type Namespace,
  type NetworkPolicy,
  type Node,
  type Pod,
  type Service,
} from "@knet/k8s";
import {
  buildProxyState,
  findProxyMode,
  type ProxyEngine,
  type ProxyHookDecision,
  proxyConfig,
  proxyModeNames,
  seededRandom,
} from "@knet/kube-proxy";
import { PolicyEngine } from "@knet/netpol";
import {
  Addr,
  buildTopology,
  type Dataplane,
  seededRandom as dataplaneRandom,
  Prefix,
  type Topology,
} from "@knet/netstack";
import { describePacket, type PolicyDecision, type ProxyDecision, policyHook } from "./hooks.js";
import { type ClusterOptions, type ResolvedClusterOptions, resolveOptions } from "./options.js";
import { type NodeNet, nodeTopology, subnetEnv } from "./overlay.js";
import { DeferredHooks, nodeConflist } from "./pod-network.js";

/** Thrown when manifests cannot form a cluster (no room for a node CIDR, a pod on a missing node...). */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
}

/** A pod of the simulated cluster, wired into the dataplane. */
export interface ClusterPod {
  /** `namespace/name`. */
  readonly key: string;
  /** The pod object, with the node, address and Running/Ready status the simulation gave it. */
  readonly pod: Pod;
  /** Node it runs on. */
  readonly node: string;
  /** Its address. */
  readonly ip: Addr;
  /** Its simulated network namespace (`namespace.name`). */
  readonly netns: string;
  /** Host end of its veth pair. */
  readonly hostVeth: string;
}

/** A node of the simulated cluster. */
export interface ClusterNode extends NodeNet {
  /** The node's kube-proxy engine. */
  readonly proxy: ProxyEngine;
  /** The `subnet.env` flannel wrote on it. */
  readonly subnetEnv: string;
}

/** A Service after the API server allocated its addresses and ports. */
export interface ClusterService {
  /** `namespace/name`. */
  readonly key: string;
  /** The Service object, defaulted, with clusterIP and nodePorts filled in. */
  readonly service: Service;
}

function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? "default"}/${o.metadata?.name ?? ""}`;
}

function internalIp(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
}

/**
 * A Kubernetes cluster simulated on `@knet/netstack`: nodes with pod CIDRs from
 * the node allocator, a flannel-like overlay, pods wired by the CNI chain
 * (bridge + host-local + portmap) run in-process through `CniRuntime`,
 * ClusterIPs and NodePorts from the API server's allocators, EndpointSlices
 * from the controller, one kube-proxy engine per node, coredns-lite's index as
 * cluster DNS, and NetworkPolicy enforced in every node's forward path.
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
  /** Pods by IP (numeric IPv4 key). */
  private readonly podsByIp: Map<number, ClusterPod>;
  /** Decisions recorded by the hooks since the last {@link Cluster.takeDecisions}. */
  private proxyLog: ProxyDecision[] = [];
  private policyLog: PolicyDecision[] = [];
  private port = 40000;

  private constructor(init: {
    options: ResolvedClusterOptions;
    dataplane: Dataplane;
    topology: Topology;
    nodes: Map<string, ClusterNode>;
    pods: Map<string, ClusterPod>;
    services: Map<string, ClusterService>;
    endpointSlices: EndpointSlice[];
    namespaces: Namespace[];
    networkPolicies: NetworkPolicy[];
    dns: DnsIndex;
    policy: PolicyEngine;
  }) {
    this.options = init.options;
    this.dataplane = init.dataplane;
    this.topology = init.topology;
    this.nodes = init.nodes;
    this.pods = init.pods;
    this.services = init.services;
    this.endpointSlices = init.endpointSlices;
    this.namespaces = init.namespaces;
    this.networkPolicies = init.networkPolicies;
    this.dns = init.dns;
    this.policy = init.policy;
    this.podsByIp = new Map([...init.pods.values()].map((p) => [p.ip.w3, p]));
  }

  /**
   * Build a cluster from manifests (YAML/JSON text, or already loaded objects).
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
    const of = <K extends KubeObject["kind"]>(kind: K) =>
      objects.filter((o): o is Extract<KubeObject, { kind: K }> => o.kind === kind);

    // Nodes: pod CIDRs from the node allocator (kube-controller-manager), IPs from the Node or the underlay.
    const nodeObjs: Node[] =
      of("Node").length > 0 ? of("Node") : [{ kind: "Node", apiVersion: "v1", metadata: { name: "node-1" } }];
    const underlay = Prefix.parse(opts.nodeNetwork);
    const cidrs = new NodeCidrAllocator({ clusterCidrs: [opts.clusterCidr], nodeMaskSizeV4: opts.nodeMaskSize });
    const nets: NodeNet[] = nodeObjs.map((n, i) => {
      const name = n.metadata?.name ?? `node-${i + 1}`;
      const given = n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []);
      const podCidr = cidrs.allocateOrOccupy(name, given)[0];
      if (!podCidr) throw new ClusterError(`node ${name}: no pod CIDR left in ${opts.clusterCidr}`);
      const ipText = internalIp(n);
      const ip = ipText ? Addr.parse(ipText) : underlay.nth(10 + i);
      return {
        name,
        ip,
        podCidr,
        gateway: podCidr.nth(1),
        vtepMac: `0e:00:00:00:00:${(i + 1).toString(16).padStart(2, "0")}`,
      };
    });
    const nodeByName = new Map(nets.map((n) => [n.name, n]));
    const podMtu = opts.overlay === "vxlan" ? opts.mtu - 50 : opts.mtu;

    // Pods: scheduled (nodeName, else round-robin) and wired by the CNI chain, in-process.
    const podTopo: BridgeTopology = { namespaces: [], links: [], routes: [] };
    const portmapHosts = new Map(nets.map((n) => [n.name, new DeferredHooks()]));
    const runtimes = new Map(
      nets.map((n) => [
        n.name,
        new CniRuntime({
          exec: inProcessExec({
            bridge: bridgePlugin({ hostNs: n.name, ipam: hostLocal({ openStore: memoryStores() }), topology: podTopo }),
            portmap: portmapPlugin(portmapHosts.get(n.name) as DeferredHooks),
          }),
          path: ["/opt/cni/bin"],
          cacheDir: "/var/lib/cni",
          fs: memoryCacheFs(),
        }),
      ]),
    );
    const conflists = new Map(
      nets.map((n) => [n.name, parseNetConfList(JSON.stringify(nodeConflist(n.podCidr, podMtu)))]),
    );
    const pods = new Map<string, ClusterPod>();
    let rr = 0;
    for (const pod of of("Pod")) {
      if (pod.spec?.hostNetwork) continue;
      const key = keyOf(pod);
      const nodeName = pod.spec?.nodeName ?? nets[rr++ % nets.length]?.name ?? "";
      const node = nodeByName.get(nodeName);
      if (!node)
        throw new ClusterError(`pod ${key}: spec.nodeName ${JSON.stringify(nodeName)} is not a node of the cluster`);
      const netns = key.replace("/", ".");
      const containerId = `sim-${netns}`;
      const wanted = pod.status?.podIP;
      const args: [string, string][] = [
        ["K8S_POD_NAMESPACE", pod.metadata?.namespace ?? "default"],
        ["K8S_POD_NAME", pod.metadata?.name ?? ""],
      ];
      if (wanted && node.podCidr.contains(Addr.parse(wanted))) args.unshift(["IgnoreUnknown", "1"], ["IP", wanted]);
      const hostPorts = (pod.spec?.containers ?? []).flatMap((c) =>
        (c.ports ?? [])
          .filter((p) => p.hostPort !== undefined)
          .map((p) => ({
            hostPort: p.hostPort as number,
            containerPort: p.containerPort,
            protocol: (p.protocol ?? "TCP").toLowerCase(),
          })),
      );
      const result = (await (runtimes.get(node.name) as CniRuntime).addNetworkList(
        conflists.get(node.name) as NetConfListInput,
        {
          containerId,
          netns,
          ifName: "eth0",
          args,
          ...(hostPorts.length > 0 ? { capabilityArgs: { portMappings: hostPorts } } : {}),
        },
      )) as Result100;
      const address = result.ips?.[0]?.address;
      const hostVeth = result.interfaces?.[1]?.name;
      if (!address || !hostVeth) throw new ClusterError(`pod ${key}: the CNI chain returned no address`);
      const att = { ip: Addr.parse(address.slice(0, address.indexOf("/"))), hostVeth };
      const ready = { type: "Ready", status: "True" };
      const wired: Pod = {
        ...pod,
        spec: { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: node.name },
        status: {
          ...pod.status,
          phase: pod.status?.phase ?? "Running",
          podIP: att.ip.toString(),
          podIPs: [{ ip: att.ip.toString() }],
          conditions: pod.status?.conditions ?? [ready],
        },
      };
      pods.set(key, { key, pod: wired, node: node.name, ip: att.ip, netns, hostVeth: att.hostVeth });
    }

    // The dataplane: nodes, overlay and pods from one topology.
    const base = nodeTopology(nets, underlay.length, opts.mtu, opts.overlay);
    const topology: Topology = {
      namespaces: [...base.namespaces, ...podTopo.namespaces],
      links: [...(base.links ?? []), ...podTopo.links],
      routes: [...(base.routes ?? []), ...podTopo.routes],
      neighbours: base.neighbours ?? [],
      vteps: base.vteps ?? [],
    };
    const dataplane = buildTopology(topology, { random: dataplaneRandom(opts.seed) });
    for (const p of pods.values()) {
      for (const c of p.pod.spec?.containers ?? []) {
        for (const port of c.ports ?? []) {
          const proto = (port.protocol ?? "TCP").toLowerCase() as "tcp" | "udp" | "sctp";
          dataplane.ns(p.netns).listen({ proto, port: port.containerPort });
        }
      }
    }

    // Services: ClusterIPs and NodePorts as the API server allocates them.
    const svcIps = new ServiceIpAllocator(opts.serviceCidr);
    const nodePorts = new NodePortAllocator();
    const rawServices = of("Service");
    for (const s of rawServices) {
      const ip = s.spec?.clusterIP;
      if (ip && ip !== "None") svcIps.allocate(ip);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) nodePorts.allocate(p.nodePort);
    }
    const services = new Map<string, ClusterService>();
    for (const s of rawServices) {
      const spec = s.spec ?? {};
      const needsIp = spec.type !== "ExternalName" && spec.clusterIP === undefined;
      const clusterIP = needsIp ? svcIps.allocateNext().toString() : spec.clusterIP;
      const wantsNodePort = spec.type === "NodePort" || spec.type === "LoadBalancer";
      const ports = (spec.ports ?? []).map((p) =>
        wantsNodePort && !p.nodePort ? { ...p, nodePort: nodePorts.allocateNext() } : p,
      );
      const service: Service = {
        ...s,
        spec: { ...spec, ports, ...(clusterIP !== undefined ? { clusterIP, clusterIPs: [clusterIP] } : {}) },
      };
      services.set(keyOf(s), { key: keyOf(s), service });
    }

    // EndpointSlices from the controller, plus the hand-written ones of selector-less services.
    const podObjs = [...pods.values()].map((p) => p.pod);
    const endpointSlices = [
      ...[...services.values()].flatMap((s) => endpointSlicesFor(s.service, podObjs, { nodes: nodeObjs })),
      ...of("EndpointSlice"),
    ];
    const svcObjs = [...services.values()].map((s) => s.service);

    // kube-proxy on every node.
    const random = seededRandom(opts.seed);
    const nodes = new Map<string, ClusterNode>();
    for (const n of nets) {
      const config = proxyConfig({ nodeName: n.name, nodeIPs: [n.ip], clusterCIDR: opts.clusterCidr });
      const proxy = mode.create({ config, random });
      proxy.sync(buildProxyState({ family: 4, nodeName: n.name }, { services: svcObjs, endpointSlices }), {
        full: true,
      });
      nodes.set(n.name, { ...n, proxy, subnetEnv: subnetEnv(opts.clusterCidr, n, opts.mtu, opts.overlay) });
    }

    // Cluster DNS and policy.
    const dns = new DnsIndex({ clock: () => 0 });
    for (const o of [...of("Namespace"), ...svcObjs, ...endpointSlices, ...podObjs]) dns.upsert(o);
    const namespaces = of("Namespace");
    const networkPolicies = of("NetworkPolicy");
    const policy = new PolicyEngine({
      namespaces,
      pods: podObjs,
      networkPolicies,
      adminNetworkPolicies: of("AdminNetworkPolicy"),
      baselineAdminNetworkPolicy: of("BaselineAdminNetworkPolicy")[0],
      nodes: nodeObjs,
    });

    const cluster = new Cluster({
      options: opts,
      dataplane,
      topology,
      nodes,
      pods,
      services,
      endpointSlices,
      namespaces,
      networkPolicies,
      dns,
      policy,
    });
    for (const n of nodes.values()) {
      const ns = dataplane.ns(n.name);
      const observe = (d: ProxyHookDecision) =>
        cluster.proxyLog.push({
          node: n.name,
          hook: d.hook,
          packet: describePacket(d.packet),
          evaluation: d.evaluation,
        });
      for (const reg of n.proxy.hooks({ random, observe })) ns.registerHook(reg);
      ns.registerHook(
        policyHook(
          n.name,
          policy,
          (ip) => cluster.podAt(ip)?.node === n.name,
          (d) => cluster.policyLog.push(d),
        ),
      );
      for (const reg of (portmapHosts.get(n.name) as DeferredHooks).pending()) ns.registerHook(reg);
    }
    return cluster;
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
    const out = { proxy: this.proxyLog, policy: this.policyLog };
    this.proxyLog = [];
    this.policyLog = [];
    return out;
  }
}

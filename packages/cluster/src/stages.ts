/**
 * The named stages a simulated cluster is built in (nodes, IPAM, pods, overlay,
 * proxy, DNS, policy) and the extension points between them: a package passes
 * a {@link ClusterExtension} that runs after any stage and adds rules inside a
 * pod's namespace (sidecar capture), extra pod interfaces, hosts outside the
 * cluster, or user-space proxies that accept a connection and open another
 * (a gateway, a sidecar).
 */
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
import {
  hostLocal,
  seededRandom as ipamRandom,
  memoryStores,
  NodeCidrAllocator,
  NodePortAllocator,
  ServiceIpAllocator,
} from "@knet/ipam";
import type { EndpointSlice, KubeObject, Node, Pod, Service } from "@knet/k8s";
import { endpointSlicesFor, namespaceOf, objectKey } from "@knet/k8s";
import {
  buildProxyState,
  type ProxyHookDecision,
  type ProxyModeDefinition,
  proxyConfig,
  seededRandom,
} from "@knet/kube-proxy";
import { PolicyEngine } from "@knet/netpol";
import {
  Addr,
  buildTopology,
  type Dataplane,
  seededRandom as dataplaneRandom,
  type HookRegistration,
  Prefix,
  type SocketHookRegistration,
  type Topology,
} from "@knet/netstack";
import { ClusterError } from "./errors.js";
import { describePacket, type PolicyDecision, type ProxyDecision, policyHook } from "./hooks.js";
import type { ResolvedClusterOptions } from "./options.js";
import { type NodeNet, nodeTopology, subnetEnv, UNDERLAY_NS } from "./overlay.js";
import { DeferredHooks, nodeConflist } from "./pod-network.js";
import type { ClusterNode, ClusterPod, ClusterService, ExternalHost, HttpRequest, UserspaceProxy } from "./types.js";

/** The stages, in the order they run. */
export const CLUSTER_STAGES = ["nodes", "ipam", "pods", "overlay", "proxy", "dns", "policy"] as const;

/**
 * One build stage: `nodes` (Node objects, pod CIDRs from the node allocator),
 * `ipam` (ClusterIPs and NodePorts from the API server's allocators), `pods`
 * (each pod wired by the CNI chain), `overlay` (the dataplane: nodes, underlay,
 * flannel, pods), `proxy` (EndpointSlices, one kube-proxy engine per node, its
 * hooks), `dns` (the cluster DNS index), `policy` (NetworkPolicy enforcement).
 */
export type ClusterStage = (typeof CLUSTER_STAGES)[number];

/** Something a package adds to a cluster, run after the stages it names. */
export interface ClusterExtension {
  /** Name, for messages. */
  readonly name: string;
  /** Functions run after a stage, with everything built so far. */
  readonly after: { readonly [S in ClusterStage]?: (build: ClusterBuild) => void | Promise<void> };
}

/** Another interface in a pod (multi-network): a veth from the pod to a namespace that must exist. */
export interface PodInterfaceSpec {
  /** Interface name in the pod (`net1`). */
  readonly ifName: string;
  /** Address in the pod, with prefix length (`10.10.0.5/24`). */
  readonly address: string;
  /** Namespace the other end goes to (a node, or a namespace an extension added). */
  readonly peerNs: string;
  /** Name of the other end. */
  readonly peerIfName: string;
  /** Address on the other end, with prefix length, if any. */
  readonly peerAddress?: string;
  /** Routes in the pod through this interface (destination CIDRs). */
  readonly routes?: readonly string[];
}

/** What the stages built so far, and the extension points. Given to {@link ClusterExtension} functions. */
export interface ClusterBuild {
  /** The options in force. */
  readonly options: ResolvedClusterOptions;
  /** The objects the cluster is built from, defaulted. */
  readonly objects: readonly KubeObject[];
  /** The stages that have run. */
  readonly done: readonly ClusterStage[];
  /** Nodes (after `nodes`; with their engines after `proxy`). */
  readonly nodes: ReadonlyMap<string, NodeNet | ClusterNode>;
  /** Pods (after `pods`). */
  readonly pods: ReadonlyMap<string, ClusterPod>;
  /** Services with their addresses (after `ipam`). */
  readonly services: ReadonlyMap<string, ClusterService>;
  /** EndpointSlices (after `proxy`). */
  readonly endpointSlices: readonly EndpointSlice[];
  /** The dataplane (after `overlay`). @throws ClusterError before it. */
  dataplane(): Dataplane;
  /** Netfilter hook functions inside a pod's namespace (sidecar capture), registered once the dataplane exists. */
  podHooks(pod: string, regs: readonly HookRegistration[]): void;
  /** Socket-level hook functions for a pod's processes, registered once the dataplane exists. */
  podSocketHooks(pod: string, regs: readonly SocketHookRegistration[]): void;
  /** Another interface in a pod, added once the dataplane exists. */
  addPodInterface(pod: string, spec: PodInterfaceSpec): void;
  /**
   * A host outside the cluster on the node network (a client, a load balancer):
   * its own namespace, plugged into the underlay switch (after `overlay`).
   */
  addExternalHost(
    name: string,
    options?: { readonly ip?: string; readonly hosts?: Readonly<Record<string, string>> },
  ): ExternalHost;
  /** A user-space proxy (a gateway, a sidecar) that accepts connections in a namespace and opens others. */
  addUserspaceProxy(proxy: UserspaceProxy): void;
}

function internalIp(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
}

/** The mutable state of one build, shared by the stages. */
export class BuildState implements ClusterBuild {
  readonly options: ResolvedClusterOptions;
  readonly objects: readonly KubeObject[];
  readonly done: ClusterStage[] = [];
  readonly nodes = new Map<string, NodeNet | ClusterNode>();
  readonly pods = new Map<string, ClusterPod>();
  readonly services = new Map<string, ClusterService>();
  endpointSlices: EndpointSlice[] = [];
  nodeObjs: Node[] = [];
  nets: NodeNet[] = [];
  topology: Topology | undefined;
  dp: Dataplane | undefined;
  dns: DnsIndex | undefined;
  policy: PolicyEngine | undefined;
  readonly externalHosts = new Map<string, ExternalHost>();
  readonly proxies: UserspaceProxy[] = [];
  /** Hook decisions, drained by the cluster's traces. */
  readonly log: { proxy: ProxyDecision[]; policy: PolicyDecision[] } = { proxy: [], policy: [] };
  private readonly mode: ProxyModeDefinition;
  private readonly podTopo: BridgeTopology = { namespaces: [], links: [], routes: [] };
  private readonly portmapHosts = new Map<string, DeferredHooks>();
  private readonly deferred: ((dp: Dataplane) => void)[] = [];

  constructor(options: ResolvedClusterOptions, objects: readonly KubeObject[], mode: ProxyModeDefinition) {
    this.options = options;
    this.objects = objects;
    this.mode = mode;
  }

  private of<K extends KubeObject["kind"]>(kind: K): Extract<KubeObject, { kind: K }>[] {
    return this.objects.filter((o): o is Extract<KubeObject, { kind: K }> => o.kind === kind);
  }

  dataplane(): Dataplane {
    if (this.dp === undefined) throw new ClusterError("the dataplane exists only after the overlay stage");
    return this.dp;
  }

  /** Run `fn` on the dataplane now, or as soon as it exists. */
  private whenDataplane(fn: (dp: Dataplane) => void): void {
    if (this.dp !== undefined) fn(this.dp);
    else this.deferred.push(fn);
  }

  private podNs(pod: string): string {
    const p = this.pods.get(pod);
    if (p === undefined)
      throw new ClusterError(
        `no pod ${JSON.stringify(pod)} (pods: ${[...this.pods.keys()].sort().join(", ") || "none"})`,
      );
    return p.netns;
  }

  podHooks(pod: string, regs: readonly HookRegistration[]): void {
    const ns = this.podNs(pod);
    this.whenDataplane((dp) => {
      for (const r of regs) dp.ns(ns).registerHook(r);
    });
  }

  podSocketHooks(pod: string, regs: readonly SocketHookRegistration[]): void {
    const ns = this.podNs(pod);
    this.whenDataplane((dp) => {
      for (const r of regs) dp.ns(ns).registerSocketHook(r);
    });
  }

  addPodInterface(pod: string, spec: PodInterfaceSpec): void {
    const ns = this.podNs(pod);
    this.whenDataplane((dp) => {
      dp.addVeth(ns, spec.ifName, spec.peerNs, spec.peerIfName);
      dp.ns(ns).addAddress(spec.ifName, spec.address);
      if (spec.peerAddress !== undefined) dp.ns(spec.peerNs).addAddress(spec.peerIfName, spec.peerAddress);
      for (const dst of spec.routes ?? []) dp.ns(ns).addRoute({ dst, dev: spec.ifName });
    });
  }

  addExternalHost(
    name: string,
    options: { readonly ip?: string; readonly hosts?: Readonly<Record<string, string>> } = {},
  ): ExternalHost {
    const dp = this.dataplane();
    if (this.externalHosts.has(name) || this.pods.has(name))
      throw new ClusterError(`external host ${JSON.stringify(name)}: the name is taken`);
    const underlay = Prefix.parse(this.options.nodeNetwork);
    const ip = options.ip !== undefined ? Addr.parse(options.ip) : underlay.nth(200 + this.externalHosts.size);
    if (!underlay.contains(ip))
      throw new ClusterError(
        `external host ${name}: ${ip} is not on the node network ${underlay} (options.nodeNetwork)`,
      );
    dp.addNamespace(name);
    const port = `ext${this.externalHosts.size}`;
    dp.addVeth(name, "eth0", UNDERLAY_NS, port);
    dp.ns(UNDERLAY_NS).setMaster(port, "sw0");
    dp.ns(name).addAddress("eth0", `${ip}/${underlay.length}`);
    const host: ExternalHost = { name, ip, netns: name, hosts: { ...(options.hosts ?? {}) } };
    this.externalHosts.set(name, host);
    return host;
  }

  addUserspaceProxy(proxy: UserspaceProxy): void {
    this.proxies.push(proxy);
    this.whenDataplane((dp) => dp.ns(proxy.netns).listen({ proto: "tcp", port: proxy.port }));
  }

  /** Nodes: the Node objects (one `node-1` when none), pod CIDRs from the node allocator, IPs. */
  stageNodes(): void {
    const opts = this.options;
    this.nodeObjs =
      this.of("Node").length > 0 ? this.of("Node") : [{ kind: "Node", apiVersion: "v1", metadata: { name: "node-1" } }];
    const underlay = Prefix.parse(opts.nodeNetwork);
    const cidrs = new NodeCidrAllocator({ clusterCidrs: [opts.clusterCidr], nodeMaskSizeV4: opts.nodeMaskSize });
    this.nets = this.nodeObjs.map((n, i) => {
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
    for (const n of this.nets) this.nodes.set(n.name, n);
  }

  /** IPAM: ClusterIPs and NodePorts as the API server allocates them. */
  stageIpam(): void {
    // A fixed seed: the same manifests give the same ClusterIPs and NodePorts on every
    // build, whatever seed the endpoint choice uses.
    const random = ipamRandom(1);
    const svcIps = new ServiceIpAllocator(this.options.serviceCidr, { random });
    const nodePorts = new NodePortAllocator(undefined, { random });
    const rawServices = this.of("Service");
    for (const s of rawServices) {
      const ip = s.spec?.clusterIP;
      if (ip && ip !== "None") svcIps.allocate(ip);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) nodePorts.allocate(p.nodePort);
    }
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
      this.services.set(objectKey(s), { key: objectKey(s), service });
    }
  }

  /** Pods: scheduled (nodeName, else round-robin) and wired by the CNI chain, in-process. */
  async stagePods(): Promise<void> {
    const opts = this.options;
    const nets = this.nets;
    const nodeByName = new Map(nets.map((n) => [n.name, n]));
    const podMtu = opts.overlay === "vxlan" ? opts.mtu - 50 : opts.mtu;
    for (const n of nets) this.portmapHosts.set(n.name, new DeferredHooks());
    const runtimes = new Map(
      nets.map((n) => [
        n.name,
        new CniRuntime({
          exec: inProcessExec({
            bridge: bridgePlugin({
              hostNs: n.name,
              ipam: hostLocal({ openStore: memoryStores() }),
              topology: this.podTopo,
            }),
            portmap: portmapPlugin(this.portmapHosts.get(n.name) as DeferredHooks),
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
    let rr = 0;
    for (const pod of this.of("Pod")) {
      if (pod.spec?.hostNetwork) continue;
      const key = objectKey(pod);
      const nodeName = pod.spec?.nodeName ?? nets[rr++ % nets.length]?.name ?? "";
      const node = nodeByName.get(nodeName);
      if (!node)
        throw new ClusterError(`pod ${key}: spec.nodeName ${JSON.stringify(nodeName)} is not a node of the cluster`);
      const netns = key.replace("/", ".");
      const containerId = `sim-${netns}`;
      const wanted = pod.status?.podIP;
      // as the container runtime passes them: IgnoreUnknown=1 so plugins that do not read K8S_POD_* accept them
      const args: [string, string][] = [
        ["IgnoreUnknown", "1"],
        ["K8S_POD_NAMESPACE", namespaceOf(pod)],
        ["K8S_POD_NAME", pod.metadata?.name ?? ""],
      ];
      if (wanted && node.podCidr.contains(Addr.parse(wanted))) args.splice(1, 0, ["IP", wanted]);
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
      this.pods.set(key, { key, pod: wired, node: node.name, ip: att.ip, netns, hostVeth: att.hostVeth });
    }
  }

  /** Overlay: the dataplane from one topology (nodes, underlay, flannel, pods), and the pods' listeners. */
  stageOverlay(): void {
    const opts = this.options;
    const underlay = Prefix.parse(opts.nodeNetwork);
    const base = nodeTopology(this.nets, underlay, opts.mtu, opts.overlay);
    this.topology = {
      namespaces: [...base.namespaces, ...this.podTopo.namespaces],
      links: [...(base.links ?? []), ...this.podTopo.links],
      routes: [...(base.routes ?? []), ...this.podTopo.routes],
      neighbours: base.neighbours ?? [],
      vteps: base.vteps ?? [],
    };
    const dataplane = buildTopology(this.topology, { random: dataplaneRandom(opts.seed) });
    for (const p of this.pods.values()) {
      for (const c of p.pod.spec?.containers ?? []) {
        for (const port of c.ports ?? []) {
          const proto = (port.protocol ?? "TCP").toLowerCase() as "tcp" | "udp" | "sctp";
          dataplane.ns(p.netns).listen({ proto, port: port.containerPort });
        }
      }
    }
    this.dp = dataplane;
    for (const fn of this.deferred.splice(0)) fn(dataplane);
  }

  /** Proxy: EndpointSlices from the controller (plus hand-written ones), one engine per node, its hooks. */
  stageProxy(): void {
    const opts = this.options;
    const podObjs = [...this.pods.values()].map((p) => p.pod);
    this.endpointSlices = [
      ...[...this.services.values()].flatMap((s) => endpointSlicesFor(s.service, podObjs, { nodes: this.nodeObjs })),
      ...this.of("EndpointSlice"),
    ];
    const svcObjs = [...this.services.values()].map((s) => s.service);
    const random = seededRandom(opts.seed);
    const dp = this.dataplane();
    for (const n of this.nets) {
      const config = proxyConfig({ nodeName: n.name, nodeIPs: [n.ip], clusterCIDR: opts.clusterCidr });
      const proxy = this.mode.create({ config, random });
      proxy.sync(
        buildProxyState({ family: 4, nodeName: n.name }, { services: svcObjs, endpointSlices: this.endpointSlices }),
        {
          full: true,
        },
      );
      this.nodes.set(n.name, { ...n, proxy, subnetEnv: subnetEnv(opts.clusterCidr, n, opts.mtu, opts.overlay) });
    }
    for (const n of this.nets) {
      const node = this.nodes.get(n.name) as ClusterNode;
      const observe = (d: ProxyHookDecision) =>
        this.log.proxy.push({
          node: n.name,
          hook: d.hook,
          packet:
            d.socketNs === undefined
              ? describePacket(d.packet)
              : `${d.packet.proto} ${d.hook.replace(/[46]$/, "")}() in ${d.socketNs} to ${d.packet.dst}:${d.packet.dport}`,
          evaluation: d.evaluation,
        });
      for (const reg of node.proxy.hooks({ random, observe })) dp.ns(n.name).registerHook(reg);
      // A socket-level mode (ebpf) translates in connect()/sendmsg() of the node's and its pods' processes.
      const sockRegs = node.proxy.socketHooks?.({ random, observe }) ?? [];
      const namespaces = new Set([
        n.name,
        ...[...this.pods.values()].filter((p) => p.node === n.name).map((p) => p.netns),
      ]);
      for (const ns of sockRegs.length > 0 ? namespaces : [])
        for (const reg of sockRegs) dp.ns(ns).registerSocketHook(reg);
    }
  }

  /** DNS: the cluster DNS index (what coredns-lite serves). */
  stageDns(): void {
    const dns = new DnsIndex({ clock: () => 0 });
    const svcObjs = [...this.services.values()].map((s) => s.service);
    const podObjs = [...this.pods.values()].map((p) => p.pod);
    for (const o of [...this.of("Namespace"), ...svcObjs, ...this.endpointSlices, ...podObjs]) dns.upsert(o);
    this.dns = dns;
  }

  /** Policy: the NetworkPolicy engine, enforced in every node's forward path; then the pods' host ports. */
  stagePolicy(): void {
    const podObjs = [...this.pods.values()].map((p) => p.pod);
    const policy = new PolicyEngine({
      namespaces: this.of("Namespace"),
      pods: podObjs,
      networkPolicies: this.of("NetworkPolicy"),
      adminNetworkPolicies: this.of("AdminNetworkPolicy"),
      baselineAdminNetworkPolicy: this.of("BaselineAdminNetworkPolicy")[0],
      nodes: this.nodeObjs,
    });
    this.policy = policy;
    const byIp = new Map([...this.pods.values()].map((p) => [p.ip.w3, p]));
    const dp = this.dataplane();
    for (const n of this.nets) {
      const ns = dp.ns(n.name);
      ns.registerHook(
        policyHook(
          n.name,
          policy,
          (ip) => ip.family === 4 && byIp.get(ip.w3)?.node === n.name,
          (d) => this.log.policy.push(d),
        ),
      );
      for (const reg of (this.portmapHosts.get(n.name) as DeferredHooks).pending()) ns.registerHook(reg);
    }
  }

  /** Run every stage in order, each followed by the extensions' functions for it. */
  async run(extensions: readonly ClusterExtension[]): Promise<void> {
    const stages: Record<ClusterStage, () => void | Promise<void>> = {
      nodes: () => this.stageNodes(),
      ipam: () => this.stageIpam(),
      pods: () => this.stagePods(),
      overlay: () => this.stageOverlay(),
      proxy: () => this.stageProxy(),
      dns: () => this.stageDns(),
      policy: () => this.stagePolicy(),
    };
    for (const stage of CLUSTER_STAGES) {
      await stages[stage]();
      this.done.push(stage);
      for (const ext of extensions) {
        const fn = ext.after[stage];
        if (fn === undefined) continue;
        try {
          await fn(this);
        } catch (e) {
          if (e instanceof ClusterError) throw e;
          throw new ClusterError(
            `extension ${ext.name} after the ${stage} stage: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      }
    }
  }
}

/** A request with HTTP defaults filled in: GET / with Host from the target. */
export function httpDefaults(req: Partial<HttpRequest> | undefined, host: string, port: number): HttpRequest {
  const defaultPort = port === 80 ? "" : `:${port}`;
  return {
    method: req?.method ?? "GET",
    path: req?.path ?? "/",
    headers: { host: `${host}${defaultPort}`, ...(req?.headers ?? {}) },
  };
}

/**
 * Sidecars in a simulated `@knet/cluster`: a cluster extension (run after the
 * `proxy` stage) that, for every pod the injector would inject, loads the
 * capture rules istio-init writes into the pod's own network namespace (the
 * iptables evaluator at the kernel's hook points) and starts the sidecar: a
 * user-space proxy on the outbound port (15001) that sends each connection on to
 * its original destination (a Service's endpoint chosen as Envoy does, with
 * mutual TLS when the endpoint has a sidecar) under the proxy's UID, and one on
 * the inbound port (15006) that admits or refuses the connection by the pod's
 * PeerAuthentication and hands it to the app from 127.0.0.6. With the mesh
 * default `nativeNftables`, istio-init's nftables rules run instead (the nftables
 * evaluator, chain by chain). Shapes are
 * structural: this package does not import `@knet/cluster` (the cluster
 * composes the mesh, not the reverse).
 */

import type { EndpointSlice, Namespace, Pod, Service } from "@knet/k8s";
import { IptablesEvaluator, iptablesChainHooks, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { NftEvaluator, NftRuleset, nftChainHooks, parseNftScript } from "@knet/kube-proxy-nftables";
import type { Addr, HookRegistration } from "@knet/netstack";
import type { CaptureConfig } from "./config.js";
import { MeshError } from "./errors.js";
import { iptablesCapture } from "./iptables.js";
import { nftablesCapture } from "./nftables.js";
import {
  DEFAULT_ROOT_NAMESPACE,
  type EffectivePeerAuthentication,
  effectivePeerAuthentication,
  mtlsModeFor,
  type PeerAuthentication,
  peerAuthenticationAdmits,
} from "./peer-authentication.js";
import { captureFromPod, type MeshDefaults } from "./pod.js";

/** The part of a cluster build the mesh extension uses (`ClusterBuild` of `@knet/cluster`). */
export interface MeshClusterBuild {
  /** The objects the cluster is built from (the Namespaces' injection labels). */
  readonly objects: readonly { readonly kind: string }[];
  /** Pods with their address and network namespace. */
  readonly pods: ReadonlyMap<
    string,
    { readonly key: string; readonly pod: Pod; readonly ip: Addr; readonly netns: string }
  >;
  /** Services with their ClusterIPs. */
  readonly services: ReadonlyMap<string, { readonly service: Service }>;
  /** EndpointSlices (after the `proxy` stage). */
  readonly endpointSlices: readonly EndpointSlice[];
  /** Netfilter hook functions inside a pod's namespace. */
  podHooks(pod: string, regs: readonly HookRegistration[]): void;
  /** Add a user-space proxy. */
  addUserspaceProxy(proxy: MeshUserspaceProxy): void;
}

/** A connection a sidecar accepted (`ProxiedRequest` of `@knet/cluster`). */
export interface MeshProxiedRequest {
  /** The HTTP request, when the trace carries one. */
  readonly http:
    | { readonly method: string; readonly path: string; readonly headers: Readonly<Record<string, string>> }
    | undefined;
  /** The client as the proxy sees it. */
  readonly client: { readonly ip: string; readonly port: number };
  /** Where the client meant to connect before the capture rules redirected it (`SO_ORIGINAL_DST`). */
  readonly originalDst: { readonly ip: string; readonly port: number };
  /** The identity the client presented with mutual TLS; undefined for plaintext. */
  readonly tls: { readonly peerIdentity: string } | undefined;
}

/** What a sidecar does with a connection (`ProxyForward` of `@knet/cluster`). */
export type MeshProxyForward =
  | {
      readonly kind: "forward";
      /** `ip:port`. */
      readonly to: string;
      /** Why, for the trace. */
      readonly note?: string;
      /** The proxy's socket owner: its traffic is not captured again. */
      readonly owner?: { readonly uid: number; readonly gid: number };
      /** Source address of the onward connection (127.0.0.6 inbound). */
      readonly source?: string;
      /** The onward connection is mutual TLS presenting this identity. */
      readonly tls?: { readonly identity: string };
    }
  | { readonly kind: "reset"; readonly note?: string }
  | { readonly kind: "respond"; readonly status: number; readonly note?: string };

/** A sidecar listener (`UserspaceProxy` of `@knet/cluster`). */
export interface MeshUserspaceProxy {
  /** Name in traces. */
  readonly name: string;
  /** The pod's namespace. */
  readonly netns: string;
  /** 15001 or 15006. */
  readonly port: number;
  /** Decide one connection. */
  forward(request: MeshProxiedRequest): MeshProxyForward;
}

/** One injected pod's sidecar. */
export interface MeshSidecar {
  /** `namespace/name`. */
  readonly pod: string;
  /** Its SPIFFE identity (`spiffe://cluster.local/ns/NS/sa/SA`). */
  readonly identity: string;
  /** The proxy's UID (and GID): its own connections are not captured. */
  readonly proxyUid: number;
  /** Outbound and inbound capture ports. */
  readonly ports: { readonly outbound: number; readonly inbound: number };
  /** Its PeerAuthentication modes. */
  readonly peerAuthentication: EffectivePeerAuthentication;
  /** Why the injector injected it. */
  readonly reason: string;
  /** What istio-init wrote: iptables, or nftables (`global.nativeNftables`). */
  readonly format: "iptables" | "nftables";
}

/** Options of {@link meshClusterExtension}. */
export interface MeshClusterOptions {
  /** The injector's defaults (mesh config). */
  readonly mesh?: Partial<MeshDefaults>;
  /** Root namespace of mesh-wide policies (default istio-system). */
  readonly rootNamespace?: string;
  /** The PeerAuthentications in force (read from manifests with `parseManifests` after `registerMeshKinds()`). */
  readonly peerAuthentications?: readonly PeerAuthentication[];
}

/** The inbound passthrough source: the sidecar connects to the app from here, so its rules let it through. */
export const INBOUND_PASSTHROUGH_SOURCE = "127.0.0.6";

/** A `@knet/cluster` extension running sidecars, and the sidecars it started. */
export interface MeshClusterExtension {
  /** `mesh`. */
  readonly name: string;
  /** Runs after the `proxy` stage. */
  readonly after: { readonly proxy: (build: MeshClusterBuild) => void };
  /** The sidecars started, by pod (filled when the cluster is built). */
  readonly sidecars: ReadonlyMap<string, MeshSidecar>;
}

/**
 * A `@knet/cluster` extension that injects sidecars where istiod's webhook
 * would (`sidecar.istio.io/inject: "true"`, namespace label
 * `istio-injection=enabled`; see `captureFromPod`), with the PeerAuthentications
 * of `options`. Pass it in `ClusterOptions.extensions`.
 * TPROXY interception is not run in the cluster (a clear error names the pod).
 */
export function meshClusterExtension(options: MeshClusterOptions = {}): MeshClusterExtension {
  const sidecars = new Map<string, MeshSidecar>();
  return {
    name: "mesh",
    sidecars,
    after: {
      proxy: (b) => {
        const namespaces = new Map(
          b.objects
            .filter((o): o is Namespace & { kind: "Namespace" } => o.kind === "Namespace")
            .map((n) => [n.metadata?.name ?? "", n]),
        );
        const policies = options.peerAuthentications ?? [];
        const root = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
        const byIp = new Map<string, MeshSidecar>();
        const podByIp = new Map([...b.pods.values()].map((p) => [p.ip.toString(), p]));
        for (const p of b.pods.values()) {
          const ns = namespaces.get(p.pod.metadata?.namespace ?? "default");
          const c = captureFromPod(p.pod, {
            ...(options.mesh ? { mesh: options.mesh } : {}),
            ...(ns ? { namespace: ns } : {}),
          });
          if (!c.injected || c.config === undefined) continue;
          const cfg = c.config;
          if (cfg.inboundInterceptionMode === "TPROXY")
            throw new MeshError(
              "sidecar.istio.io/interceptionMode",
              `pod ${p.key}: TPROXY interception is not simulated in the cluster (the kernel check covers it); use REDIRECT`,
            );
          b.podHooks(p.key, captureHooks(cfg, c.nativeNftables, p.ip, `istio-init ${p.key}`));
          const proxyUid = Number(cfg.proxyUid.split(",")[0]);
          const sidecar: MeshSidecar = {
            pod: p.key,
            identity: c.spiffeId,
            proxyUid,
            ports: { outbound: Number(cfg.proxyPort), inbound: Number(cfg.inboundCapturePort) },
            peerAuthentication: effectivePeerAuthentication(p.pod, policies, root),
            reason: c.reason,
            format: c.nativeNftables ? "nftables" : "iptables",
          };
          sidecars.set(p.key, sidecar);
          byIp.set(p.ip.toString(), sidecar);
        }
        const rr = new Map<string, number>();
        const owner = (s: MeshSidecar) => ({ uid: s.proxyUid, gid: s.proxyUid });
        for (const s of sidecars.values()) {
          const p = b.pods.get(s.pod) as { readonly ip: Addr; readonly netns: string };
          b.addUserspaceProxy({
            name: `sidecar ${s.pod} outbound :${s.ports.outbound} (${s.identity})`,
            netns: p.netns,
            port: s.ports.outbound,
            forward: (req) => {
              const dst = req.originalDst;
              const ep = serviceEndpoint(b, dst.ip, dst.port, rr);
              if (ep === "none")
                return { kind: "respond", status: 503, note: `no healthy upstream for ${dst.ip}:${dst.port}` };
              const to = ep ?? { ip: dst.ip, port: dst.port, cluster: "PassthroughCluster", of: "" };
              const peer = byIp.get(to.ip);
              const peerMode = peer === undefined ? undefined : mtlsModeFor(peer.peerAuthentication, to.port);
              // auto mTLS: to an endpoint with a sidecar (label security.istio.io/tlsMode=istio) unless its port is DISABLE
              const mtls = ep !== undefined && peer !== undefined && peerMode !== "DISABLE";
              const dest = podByIp.get(to.ip)?.key ?? to.ip;
              const how = mtls
                ? `mTLS as ${s.identity} to ${peer?.identity}`
                : `plaintext (${peer === undefined ? "no sidecar at the destination" : ep === undefined ? "passthrough to a pod address" : "the destination's PeerAuthentication is DISABLE"})`;
              return {
                kind: "forward",
                to: `${to.ip}:${to.port}`,
                owner: owner(s),
                ...(mtls ? { tls: { identity: s.identity } } : {}),
                note: `${to.cluster}${to.of} -> ${dest} ${to.ip}:${to.port}, ${how}`,
              };
            },
          });
          b.addUserspaceProxy({
            name: `sidecar ${s.pod} inbound :${s.ports.inbound} (${s.identity})`,
            netns: p.netns,
            port: s.ports.inbound,
            forward: (req) => {
              const port = req.originalDst.port;
              const mode = mtlsModeFor(s.peerAuthentication, port);
              const a = peerAuthenticationAdmits(mode, req.tls !== undefined);
              const from = policySource(s.peerAuthentication, port);
              const peer =
                req.tls === undefined ? `plaintext from ${req.client.ip}` : `mTLS from ${req.tls.peerIdentity}`;
              const why = `PeerAuthentication ${a.reason} (${from})`;
              if (!a.admitted) return { kind: "reset", note: `${peer} to ${s.identity}: refused, ${why}` };
              return {
                kind: "forward",
                to: `${p.ip}:${port}`,
                owner: owner(s),
                source: INBOUND_PASSTHROUGH_SOURCE,
                note: `inbound|${port}|| ${peer} to ${s.identity}: admitted, ${why}`,
              };
            },
          });
        }
      },
    },
  };
}

/** istio-init's rules for a pod at its namespace's netfilter hooks, run by the iptables or the nftables evaluator. */
function captureHooks(cfg: CaptureConfig, nft: boolean, ip: Addr, owner: string): HookRegistration[] {
  if (!nft) {
    const ev = new IptablesEvaluator(parseIptablesSave(iptablesCapture(cfg).v4), { localAddresses: [ip] });
    return iptablesChainHooks(() => ev, { family: 4, owner });
  }
  const rs = new NftRuleset();
  rs.apply(parseNftScript(nftablesCapture(cfg).script));
  const ev = new NftEvaluator(rs, {
    isLocal: (a) => a.equals(ip) || (a.family === 4 && a.w3 >>> 24 === 127),
    interfaceAddress: (_ifname, family) => (family === ip.family ? ip : undefined),
  });
  return nftChainHooks(ev, { owner });
}

/** Which policy set the mode of `port` (or that none did: the PERMISSIVE default). */
function policySource(e: EffectivePeerAuthentication, port: number): string {
  if (e.perPort.has(port)) return `port ${port} of ${e.from.workload}`;
  const f = e.from;
  const set = [f.workload, f.namespace, f.mesh].filter((x) => x !== undefined);
  return set.length === 0 ? "no policy: the default" : `from ${set.join(" over ")}`;
}

/**
 * The endpoint Envoy's outbound cluster for a Service port sends a connection to
 * (round robin over the ready endpoints of its EndpointSlices), `none` when it
 * has no ready endpoint, or undefined when `ip:port` is not a Service's ClusterIP and port.
 */
function serviceEndpoint(
  b: MeshClusterBuild,
  ip: string,
  port: number,
  rr: Map<string, number>,
): { ip: string; port: number; cluster: string; of: string } | "none" | undefined {
  for (const { service } of b.services.values()) {
    if (service.spec?.clusterIP !== ip) continue;
    const sp = service.spec.ports?.find((x) => x.port === port && (x.protocol ?? "TCP") === "TCP");
    if (sp === undefined) return undefined;
    const ns = service.metadata?.namespace ?? "default";
    const name = service.metadata?.name ?? "";
    const cluster = `outbound|${port}||${name}.${ns}.svc.cluster.local`;
    const candidates: { ip: string; port: number }[] = [];
    for (const s of b.endpointSlices) {
      if (s.metadata?.namespace !== ns || s.metadata?.labels?.["kubernetes.io/service-name"] !== name) continue;
      const epPort = s.ports?.find((x) => (x.name ?? "") === (sp.name ?? ""))?.port;
      if (epPort === undefined || epPort === null) continue;
      for (const e of s.endpoints ?? []) {
        if (e.conditions?.ready === false) continue;
        const a = e.addresses[0];
        if (a !== undefined) candidates.push({ ip: a, port: epPort });
      }
    }
    if (candidates.length === 0) return "none";
    const i = rr.get(cluster) ?? 0;
    rr.set(cluster, i + 1);
    const pick = candidates[i % candidates.length] as { ip: string; port: number };
    return { ...pick, cluster, of: ` (endpoint ${(i % candidates.length) + 1} of ${candidates.length})` };
  }
  return undefined;
}

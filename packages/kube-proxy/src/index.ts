/**
 * `@knet/kube-proxy`: the proxy model shared by kube-proxy's engines: service
 * ports and endpoints built from Services and EndpointSlices, endpoint
 * selection, change tracking, chain naming for iptables and nftables, the
 * `ProxyEngine` interface and the `Proxier` sync loop.
 *
 * @example
 * ```ts
 * import { buildProxyState, categorizeEndpoints, iptablesServiceChains } from "@knet/kube-proxy";
 *
 * const state = buildProxyState({ family: 4, nodeName: "node-1" }, { services, endpointSlices });
 * for (const key of state.order) {
 *   const sp = state.servicePorts.get(key)!;
 *   const eps = categorizeEndpoints(state.endpoints.get(key) ?? [], sp, { nodeName: "node-1" });
 *   console.log(iptablesServiceChains(sp.spn, sp.protocol).svc, eps.clusterEndpoints.length);
 * }
 * ```
 *
 * @module
 */

// One seeded random source for every package: netstack's (re-exported, the same thing under the same name).
export type { Random } from "@knet/netstack";
export { seededRandom } from "@knet/netstack";
export { parseCIDRSloppy, parseIPSloppy } from "./addresses.js";
export type { CategorizedEndpoints, NodeTopology } from "./categorize.js";
export { categorizeEndpoints } from "./categorize.js";
export type { ChangeTrackerOptions } from "./change-tracker.js";
export { buildProxyState, ChangeTracker, spnOfKey } from "./change-tracker.js";
export type { LocalDetector, ProxyConfig, ProxyConfigInput } from "./config.js";
export { formatMark, masqueradeMark, proxyConfig } from "./config.js";
export type { Endpoint, SliceEndpoints } from "./endpoint.js";
export { mergeEndpoints, sliceEndpoints } from "./endpoint.js";
export type {
  EngineHookOptions,
  EngineOptions,
  EvaluateOptions,
  ProxyEngine,
  ProxyEvaluation,
  ProxyHookDecision,
  ProxyHostOptions,
  ProxyOutcome,
  ProxyPacket,
  SyncOptions,
  SyncResult,
  TraceStep,
} from "./engine.js";
export { ProxyEngineError, ProxyModelError } from "./errors.js";
export type {
  DetectLocalMode,
  KubeProxyConfiguration,
  KubeProxyConfigurationProblem,
  KubeProxyConfigurationResult,
  KubeProxyEngineOptions,
  KubeProxyNode,
} from "./kube-proxy-configuration.js";
export {
  KUBE_PROXY_CONFIGURATION_API_VERSION,
  kubeProxyEngineOptions,
  kubeProxyProxyConfigInput,
  parseKubeProxyConfiguration,
} from "./kube-proxy-configuration.js";
export type { ArtifactFormat, ProxyModeDefinition } from "./mode-registry.js";
export {
  DEFAULT_PROXY_MODE,
  findProxyMode,
  ProxyModeError,
  proxyMode,
  proxyModeNames,
  proxyModes,
  registerProxyMode,
} from "./mode-registry.js";
export type { IptablesServiceChains, NftEndpointNames, NftServiceChains } from "./naming.js";
export {
  endpointIptablesChain,
  endpointNftNames,
  IPTABLES_OWNED_PREFIXES,
  iptablesEndpointChain,
  iptablesServiceChains,
  iptablesServiceHash,
  joinHostPort,
  nftEndpointNames,
  nftServiceChains,
  nftServiceReadable,
  servicePortIptablesChains,
  servicePortNftChains,
} from "./naming.js";
export type { ProxierOptions, Timers } from "./proxier.js";
export { Proxier, systemClock } from "./proxier.js";
export { evaluationHooks, settleDecisive } from "./proxy-hooks.js";
export type { ProxyObjects, ProxyState, ProxyStateChanges, ProxyStateDiff } from "./proxy-state.js";
export { diffProxyState, endpointListsEqual, servicePortsEqual, sortServicePortKeys } from "./proxy-state.js";
export type { Protocol, ProxyLog, ProxySkip, ServicePort, ServicePortName } from "./service-port.js";
export { compareServicePorts, isIgnoredService, servicePortNameString, servicePortsFor } from "./service-port.js";
export type { TrafficPath, TrafficPlan } from "./traffic-plan.js";
export { trafficPlan } from "./traffic-plan.js";

/**
 * Sidecar traffic capture exactly as Istio's `istio-iptables` and `istio-nftables`
 * write it, from their configuration or from a pod spec, and SPIFFE identities.
 *
 * @module
 */

export type {
  MeshClusterBuild,
  MeshClusterExtension,
  MeshClusterOptions,
  MeshProxiedRequest,
  MeshProxyForward,
  MeshSidecar,
  MeshUserspaceProxy,
} from "./cluster-mesh.js";
export { INBOUND_PASSTHROUGH_SOURCE, meshClusterExtension } from "./cluster-mesh.js";
export type { CaptureConfig, InterceptFilter, NetworkRange } from "./config.js";
export {
  AGENT_DNS_PORT,
  DEFAULT_CAPTURE_CONFIG,
  OUTBOUND_MARK,
  parseInterceptFilter,
  resolveCaptureConfig,
  separateV4V6,
  splitList,
} from "./config.js";
export { MeshError } from "./errors.js";
export type { IstioFlag, ParsedCaptureArgs } from "./flags.js";
export { ISTIO_IPTABLES_ENV, ISTIO_IPTABLES_FLAGS, parseIstioIptablesArgs } from "./flags.js";
export type { IptablesCapture } from "./iptables.js";
export { iptablesCapture } from "./iptables.js";
export type { NftablesCapture } from "./nftables.js";
export { NFT_TABLES, nftablesCapture } from "./nftables.js";
export type {
  EffectivePeerAuthentication,
  MtlsMode,
  MtlsModeSetting,
  PeerAuthentication,
} from "./peer-authentication.js";
export {
  DEFAULT_ROOT_NAMESPACE,
  effectivePeerAuthentication,
  mtlsModeFor,
  PEER_AUTHENTICATION_API_VERSION,
  peerAuthenticationAdmits,
  registerMeshKinds,
  validatePeerAuthentication,
} from "./peer-authentication.js";
export type { MeshDefaults, PodCapture, PodCaptureOptions } from "./pod.js";
export { ANNOTATIONS, captureFromPod, DEFAULT_MESH_DEFAULTS } from "./pod.js";
export type { SpiffeParts } from "./spiffe.js";
export { parseSpiffeId, spiffeId } from "./spiffe.js";
export { tproxyRouteCommands } from "./tproxy.js";

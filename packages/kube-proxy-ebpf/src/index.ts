/**
 * `@knet/kube-proxy-ebpf`: socket-level service load balancing as Cilium does it.
 *
 * @module
 */
export { dumpLbMaps } from "./dump.js";
export type { BackendStateName, FrontendType, L4Name } from "./flags.js";
export {
  BACKEND_STATE,
  formatServiceFlags,
  L4_PROTO,
  LB_ALG,
  SVC_FLAG,
} from "./flags.js";
export type { BackendSpec, FrontendSpec, LbAlgorithm, LbSettings } from "./frontends.js";
export {
  allFrontends,
  frontendsOf,
  LB_ALGORITHM_ANNOTATION,
  SOURCE_RANGES_POLICY_ANNOTATION,
} from "./frontends.js";
export type {
  AffinityMatchEntry,
  BackendEntry,
  LbMapChanges,
  LbMapName,
  LbMaps,
  RevNatEntry,
  ServiceEntry,
  SourceRangeEntry,
} from "./lb-maps.js";
export { LbReconciler, serviceLookupKey } from "./lb-maps.js";
export type { MaglevBackend, MaglevConfig, MaglevOptions } from "./maglev.js";
export {
  DEFAULT_BACKEND_WEIGHT,
  DEFAULT_MAGLEV_HASH_SEED,
  DEFAULT_MAGLEV_TABLE_SIZE,
  MAGLEV_TABLE_SIZES,
  maglevBackendHashString,
  maglevConfig,
  maglevLookupTable,
  maglevOffsetSkip,
} from "./maglev.js";
export { murmur3Hash128 } from "./murmur3.js";

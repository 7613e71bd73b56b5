/**
 * `@knet/kube-proxy-ebpf`: socket-level service load balancing as Cilium does it.
 *
 * @module
 */

export type { BatchOptions } from "./batch.js";
export { DEFAULT_PIN_DIR, MAGLEV_CHUNK, maglevInnerPin, renderFullBatch, renderIncrementalBatch } from "./batch.js";
export { dumpLbMaps } from "./dump.js";
export {
  decodeAffinityMatch,
  decodeBackend,
  decodeMaglevTable,
  decodeRevNat,
  decodeService,
  decodeSourceRange,
  mapPinName,
} from "./encode.js";
export type { EbpfEngineOptions } from "./engine.js";
export { EbpfEngine } from "./engine.js";
export type { SockLbEvaluateOptions, SockLbEvaluatorOptions } from "./evaluator.js";
export { SockLbEvaluator } from "./evaluator.js";
export type { BackendStateName, FrontendType, L4Name } from "./flags.js";
export {
  BACKEND_STATE,
  formatServiceFlags,
  L4_PROTO,
  LB_ALG,
  SVC_FLAG,
} from "./flags.js";
export { FlatMap } from "./flat-map.js";
export type { BackendSpec, FrontendSpec, LbAlgorithm, LbSettings } from "./frontends.js";
export {
  allFrontends,
  frontendsOf,
  LB_ALGORITHM_ANNOTATION,
  SOURCE_RANGES_POLICY_ANNOTATION,
} from "./frontends.js";
export { hashTupleV4, hashTupleV6, jhash3words } from "./jhash.js";
export type {
  AffinityMatchEntry,
  BackendEntry,
  LbDatapath,
  LbMapChanges,
  LbMapName,
  LbMaps,
  RevNatEntry,
  ServiceEntry,
  SourceRangeEntry,
} from "./lb-maps.js";
export { BE_VALUE, LbReconciler, SVC_VALUE, serviceKeyWords, serviceLookupKey } from "./lb-maps.js";
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
export { ebpfMode } from "./mode.js";
export { murmur3Hash128 } from "./murmur3.js";
export type { SockLbBuildOptions } from "./program.js";
export { SOCK_LB_ATTACH, SOCK_LB_SOURCE, sockLbClangCommand } from "./program.js";

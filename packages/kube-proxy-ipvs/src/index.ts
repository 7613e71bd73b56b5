/**
 * `@knet/kube-proxy-ipvs`: kube-proxy's IPVS mode: virtual and real servers, the kernel's schedulers, ipsets and the iptables rules IPVS mode keeps.
 *
 * @module
 */

export type { IpvsEngineOptions, VirtualServerPlan, VirtualServerRole } from "./engine.js";
export { DUMMY_INTERFACE, IpvsEngine } from "./engine.js";
export type { HsipKey } from "./hash.js";
export { addrFold, GOLDEN_RATIO_32, hash32, hsiphashU32, sipHash } from "./hash.js";
export type { IpsetEntry, IpsetInfo, IpsetType } from "./ipsets.js";
export { entryText, IPSETS, IpsetState, ipsetName } from "./ipsets.js";
export type { IpvsIptablesOptions, NoNodeAccess } from "./iptables-rules.js";
export { IPVS_IPTABLES_CHAINS, IPVS_JUMPS, renderIpvsBootstrap, renderIpvsIptables } from "./iptables-rules.js";
export type {
  ConnectOptions,
  IpvsConnection,
  IpvsTableOptions,
  IpvsTimeouts,
  PersistenceTemplate,
  ScheduleResult,
} from "./ipvs-table.js";
export { DEFAULT_TIMEOUTS, IpvsTable } from "./ipvs-table.js";
export { renderIpvsadmList, renderIpvsadmSave, sortDests, sortServices } from "./ipvsadm.js";
export { ipvsMode } from "./mode.js";
export { RealServer } from "./real-server.js";
export type { DestChange, SchedFlags, SchedPacket, Scheduler, SchedulerName } from "./scheduler.js";
export { SCHEDULER_NAMES } from "./scheduler.js";
export type { SchedulerOptions } from "./schedulers/create.js";
export { createScheduler } from "./schedulers/create.js";
export {
  DestinationHashing,
  dhBucket,
  HASH_TAB_BITS,
  MaglevHashing,
  MH_DEFAULT_TABLE_SIZE,
  MH_HASH1,
  MH_HASH2,
  MH_PRIMES,
  mhHash,
  SourceHashing,
  shBucket,
} from "./schedulers/hashing.js";
export {
  LeastConnection,
  NeverQueue,
  ShortestExpectedDelay,
  WeightedLeastConnection,
} from "./schedulers/least-conn.js";
export {
  LBLC_EXPIRATION_MS,
  LocalityLeastConnection,
  LocalityLeastConnectionReplicated,
} from "./schedulers/locality.js";
export { RoundRobin, WeightedRoundRobin } from "./schedulers/round-robin.js";
export type { VirtualServerSpec } from "./virtual-server.js";
export { VirtualServer, virtualServerKey } from "./virtual-server.js";

/**
 * `@knet/netpol`: NetworkPolicy and Admin/Baseline policy verdicts with reasons,
 * reachability matrices, and compilation to an nftables ruleset a real kernel
 * enforces.
 *
 * @example
 * ```ts
 * import { PolicyEngine, explain, reachability } from "@knet/netpol";
 *
 * const engine = new PolicyEngine({ namespaces, pods, networkPolicies });
 * const v = engine.verdict({ from: "x/b", to: "x/a", protocol: "TCP", port: 80 });
 * console.log(explain(v)); // "x/b -> x/a TCP/80: DENIED\n  ingress x/a: [NPv1] Dropped (x/deny-all) ..."
 * reachability(engine, { ports: [{ port: 80, protocol: "TCP" }] }).allowed["80/TCP"];
 * ```
 *
 * @module
 */
export type { E2eModel, E2eModelOptions, PeerPattern } from "./e2e-model.js";
export { ExpectedReachability, e2eModel, e2ePodIP } from "./e2e-model.js";
export type { PodPolicies, PolicyEngineOptions } from "./engine.js";
export { PolicyEngine } from "./engine.js";
export { explain, formatRuleRef, walkthrough } from "./explain.js";
export type { NftOptions, PolicyNftRuleset } from "./nft.js";
export { compileNft } from "./nft.js";
export { PolicyError } from "./policy-error.js";
export { defaultProfile, strictProfile } from "./profile.js";
export type { PortSpec, Reachability, ReachabilityDiff, ReachabilityOptions } from "./reachability.js";
export {
  diffReachability,
  formatPortSpec,
  formatReachability,
  parsePortSpec,
  reachability,
} from "./reachability.js";
export type { ServiceTarget } from "./service.js";
export { serviceTargets, serviceVerdicts } from "./service.js";
export type {
  Direction,
  DirectionVerdict,
  Flow,
  PolicyClusterState,
  PolicyProtocol,
  Profile,
  ResolvedEndpoint,
  RuleMiss,
  RuleRef,
  Tier,
  TierStep,
  Verdict,
} from "./types.js";

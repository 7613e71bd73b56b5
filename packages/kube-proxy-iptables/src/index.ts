/**
 * `@knet/kube-proxy-iptables`: kube-proxy's iptables mode. The exact
 * iptables-restore input kube-proxy writes (full and partial syncs), a parser
 * for any iptables-save / iptables-restore text, and an evaluator that walks a
 * ruleset for a packet as the kernel does.
 *
 * @example
 * ```ts
 * import { buildProxyState, proxyConfig } from "@knet/kube-proxy";
 * import { IptablesEngine, parseIptablesSave, IptablesEvaluator } from "@knet/kube-proxy-iptables";
 *
 * const config = proxyConfig({ nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.244.0.0/16" });
 * const engine = new IptablesEngine({ config });
 * const { payload } = engine.sync(buildProxyState(config, { services, endpointSlices }));
 * engine.evaluate({ src: "10.244.1.5", dst: "10.96.0.10", dport: 53, protocol: "udp" }).outcome;
 *
 * // any node's dump:
 * const ev = new IptablesEvaluator(parseIptablesSave(dump), { localAddresses: ["192.168.0.2"] });
 * ev.evaluate({ src: "10.244.1.5", dst: "10.96.0.1", dport: 443 }).trace;
 * ```
 *
 * @module
 */

export type { JumpRule } from "./bootstrap.js";
export { CANARY_CHAIN, jumpRules, renderBootstrap } from "./bootstrap.js";
export type { IptablesEngineOptions } from "./engine.js";
export { IptablesEngine } from "./engine.js";
export { IptablesParseError } from "./errors.js";
export type {
  ChainVerdict,
  EvaluateCallOptions,
  EvaluatorOptions,
  IpsetLookup,
  IptablesPacket,
  IptablesTraceStep,
  IptablesVerdict,
  SetPacket,
} from "./evaluator.js";
export { IptablesEvaluator } from "./evaluator.js";
export type { ChainHookOptions } from "./hooks.js";
export { iptablesChainHooks } from "./hooks.js";
export { iptablesMode } from "./mode.js";
export type {
  IptablesOptions,
  RenderBlock,
  RenderCache,
  RenderCacheEntry,
  RenderInput,
  RenderResult,
} from "./render.js";
export { isServiceChain, markText, newRenderCache, probability, renderRestore } from "./render.js";
export type { AddrMatch, IfaceMatch, MatchSpec, PortRange, RuleSpec, TargetSpec } from "./rule-spec.js";
export { CT, parseRuleWords, protocolNumber } from "./rule-spec.js";
export type { Chain, RestoreOptions, Rule, Table } from "./ruleset.js";
export { BUILTIN_CHAINS, parseIptablesSave, Ruleset } from "./ruleset.js";
export { sortRestoreLikeUpstream } from "./sort.js";
export { quoteWord, tokenizeRule } from "./tokenize.js";

/**
 * `@knet/kube-proxy-nftables`: kube-proxy's nftables mode: the kube-proxy table, incremental transactions, an nft parser and an O(1) evaluator.
 *
 * @module
 */

export type { NftablesEngineOptions, NftablesSyncResult } from "./engine.js";
export { NftablesEngine } from "./engine.js";
export type {
  EvaluateOptions,
  NftChainVerdict,
  NftEvaluatorOptions,
  NftOrigin,
  NftPacket,
  NftResult,
  NftTraceStep,
  RandomInt,
} from "./evaluator.js";
export { NftEvaluator, NftOutcome, seededRandomInt } from "./evaluator.js";
export { formatCommand, formatNftScript, formatRule } from "./format.js";
export type { NftChainHookOptions } from "./hooks.js";
export { nftChainHooks } from "./hooks.js";
export { nftablesMode } from "./mode.js";
export { parseNftListing } from "./parse-listing.js";
export { parseRule } from "./parse-rule.js";
export { parseNftScript } from "./parse-script.js";
export type {
  BaseChainSpec,
  ElementContribution,
  LineSink,
  NameCache,
  NftRenderContext,
  ServicePortRender,
} from "./render.js";
export {
  BASE_CHAINS,
  elementLine,
  JUMP_CHAINS,
  KUBE_PROXY_TABLE,
  newNameCache,
  renderContainerFlush,
  renderServicePort,
  renderSetup,
  SERVICE_CONTAINERS,
  writeFullSync,
} from "./render.js";
export type { ApplyOptions, ElementState, RuleState } from "./ruleset.js";
export { ChainState, NftError, NftRuleset, SetState, TableState } from "./ruleset.js";
export { NftParseError } from "./tokenize.js";
export type {
  NftCommand,
  NftElement,
  NftFamily,
  NftField,
  NftHookSpec,
  NftLiteral,
  NftObjectKind,
  NftOperand,
  NftRule,
  NftSetSpec,
  NftStatement,
  NftVerdict,
} from "./types.js";
export { WordTable } from "./word-table.js";

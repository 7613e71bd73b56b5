/**
 * `@knet/cni-spec`: the CNI specification in TypeScript. Config and result
 * types for every spec version (0.1.0 ... 1.1.0) with validation that names the
 * bad field, result conversion between versions, the spec's error codes, a
 * plugin skeleton ({@link runPlugin}) and a libcni-like runtime that runs plugin
 * chains as real executables or as in-process TypeScript plugins.
 *
 * @example
 * ```ts
 * import { convertResult, parseResult } from "@knet/cni-spec";
 *
 * const r = parseResult('{"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24"}]}');
 * convertResult(r, "0.4.0").result; // ips[0].version === "4"
 * ```
 *
 * @module
 */

export { formatCniArgs, loadCniArgs, parseCniArgs } from "./args.js";
export type { CachedAttachment, CacheFs } from "./cache.js";
export {
  CACHE_KIND,
  cacheFileName,
  cacheFilePath,
  decodeCacheEntry,
  encodeCacheEntry,
  memoryCacheFs,
  nodeCacheFs,
} from "./cache.js";
export { DEFAULT_NET_DIR, loadNetworkConfByName } from "./conf-dir.js";
export type { IPAMConfig, LoadedNetConfList, NetConf, NetConfList } from "./config.js";
export { parseNetConf, parseNetConfList, parseNetworkConfig, validatePluginConf } from "./config.js";
export type { ErrorCodeValue, ErrorResult } from "./errors.js";
export { CniError, ErrorCode, isErrorResult } from "./errors.js";
export type { Exec, ExecOutcome, ExecRequest, ExecutableExecOptions, InProcessPlugin } from "./exec.js";
export { chainExec, DEFAULT_PLUGIN_ENV_PATH, executableExec, findInPath, inProcessExec } from "./exec.js";
export type { CmdArgs, MaybePromise, Plugin, PluginAbout } from "./plugin.js";
export type { BandwidthLimits, BandwidthRecord } from "./plugins/bandwidth.js";
export { bandwidthLimits, bandwidthPlugin } from "./plugins/bandwidth.js";
export type { BridgePluginOptions, BridgeTopology } from "./plugins/bridge.js";
export { bridgePlugin, hostVethName } from "./plugins/bridge.js";
export type { LoopbackDataplane } from "./plugins/loopback.js";
export { loopbackPlugin, recordingLoopback } from "./plugins/loopback.js";
export type { PortMapping, PortmapHost } from "./plugins/portmap.js";
export { PORTMAP_MASQ_MARK, portmapPlugin } from "./plugins/portmap.js";
export type { CniRuntimeOptions, GCAttachment, NetConfListInput, RuntimeConf } from "./runtime.js";
export { CniRuntime, DEFAULT_CACHE_DIR, PluginError } from "./runtime.js";
export type { Env, SkelIo, SkelOutcome } from "./skel.js";
export { dispatch, runPlugin } from "./skel.js";
export type { DNS, Route } from "./types/common.js";
export { dnsIsEmpty } from "./types/common.js";
export type { Conversion, Result, ResultFamily } from "./types/convert.js";
export { convertResult, isResult020, isResult040, isResult100, parseResult, resultFamily } from "./types/convert.js";
export type { IPConfig020, Result020 } from "./types/v020.js";
export { VERSIONS_020 } from "./types/v020.js";
export type { Interface040, IPConfig040, Result040 } from "./types/v040.js";
export { VERSIONS_040 } from "./types/v040.js";
export type { Interface, IPConfig, Result100 } from "./types/v100.js";
export { VERSIONS_100 } from "./types/v100.js";
export {
  MAX_IFNAME_LENGTH,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
  validatePluginType,
} from "./validate.js";
export type { VersionInfo } from "./version.js";
export {
  CURRENT_VERSION,
  checkVersionSupported,
  compareVersions,
  decodeVersionInfo,
  goQuoteList,
  isValidVersion,
  negotiateVersion,
  parseVersion,
  SPEC_VERSIONS,
  versionAtLeast,
  versionInfo,
} from "./version.js";

/**
 * Network configuration: the list an administrator writes (`.conflist`), the
 * plugin objects inside it, and the per-plugin config the runtime sends on
 * stdin. Validation names the bad field.
 */
import { CniError, ErrorCode } from "./errors.js";
import { type Json, kind } from "./internal/check.js";
import type { DNS } from "./types/common.js";
import { validateNetworkName, validatePluginType } from "./validate.js";
import { isValidVersion, negotiateVersion } from "./version.js";

/** The IPAM section of a plugin config: `type` plus plugin-specific keys. */
export interface IPAMConfig {
  /** The IPAM plugin to delegate to (e.g. `host-local`). */
  readonly type?: string;
  /** Plugin-specific keys. */
  readonly [key: string]: unknown;
}

/**
 * One plugin's configuration (an entry of `plugins`, or what a plugin reads on
 * stdin after the runtime injected `name`, `cniVersion`, `prevResult`,
 * `runtimeConfig`). Unknown keys are kept and passed through.
 */
export interface NetConf {
  /** Spec version (injected by the runtime). */
  readonly cniVersion?: string;
  /** Network name (injected by the runtime). */
  readonly name?: string;
  /** The plugin executable's name. */
  readonly type: string;
  /** Capabilities the plugin wants from `runtimeConfig`. */
  readonly capabilities?: Readonly<Record<string, boolean>>;
  /** IPAM settings. */
  readonly ipam?: IPAMConfig;
  /** DNS settings. */
  readonly dns?: DNS;
  /** Runtime-provided capability values (injected). */
  readonly runtimeConfig?: Readonly<Record<string, unknown>>;
  /** Runtime-provided extra arguments (`args.cni.ips`, ...). */
  readonly args?: Readonly<Record<string, unknown>>;
  /** The previous plugin's (ADD) or the cached (CHECK/DEL) result. */
  readonly prevResult?: unknown;
  /** Any other key. */
  readonly [key: string]: unknown;
}

/** A network configuration list (`.conflist`). */
export interface NetConfList {
  /** The version the list is written for. */
  readonly cniVersion: string;
  /** All versions the list supports (spec 1.1). */
  readonly cniVersions?: readonly string[];
  /** Network name. */
  readonly name: string;
  /** The runtime must not CHECK this network. */
  readonly disableCheck: boolean;
  /** The runtime must not GC this network (1.1). */
  readonly disableGC: boolean;
  /** Plugins, run in order for ADD/CHECK and in reverse for DEL. */
  readonly plugins: readonly NetConf[];
}

/** A list with the version the runtime picked, plus the original bytes (cached by libcni). */
export interface LoadedNetConfList extends NetConfList {
  /** The negotiated version (highest of `cniVersion` and `cniVersions` the runtime supports). */
  readonly effectiveVersion: string;
  /** The list as it was read (kept in the result cache). */
  readonly bytes: string;
}

const invalid = (field: string, what: string): never => {
  throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: ${what}`, "", field);
};

function parseJsonObject(text: string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error parsing ${what}: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new CniError(ErrorCode.DecodingFailure, `error parsing ${what}: expected a JSON object, got ${kind(v)}`);
  }
  return v as Json;
}

/** libcni's bool-or-string flags (`true`, `"true"`, `"FALSE"`). */
function parseFlag(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    if (v.toLowerCase() === "true") return true;
    if (v.toLowerCase() === "false") return false;
  }
  return invalid(field, `must be a boolean (or "true"/"false"), got ${JSON.stringify(v)}`);
}

/** Validate one plugin object of a list at `field` (e.g. `plugins[0]`). */
export function validatePluginConf(v: unknown, field: string): NetConf {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return invalid(field, `must be an object, got ${kind(v)}`);
  const o = v as Json;
  if (typeof o.type !== "string") return invalid(`${field}.type`, "missing plugin type");
  validatePluginType(o.type, `${field}.type`);
  if (o.capabilities !== undefined) {
    if (typeof o.capabilities !== "object" || o.capabilities === null || Array.isArray(o.capabilities)) {
      invalid(`${field}.capabilities`, "must be an object of booleans");
    }
    for (const [k, b] of Object.entries(o.capabilities as Json)) {
      if (typeof b !== "boolean") invalid(`${field}.capabilities.${k}`, `must be a boolean, got ${JSON.stringify(b)}`);
    }
  }
  if (o.ipam !== undefined && (typeof o.ipam !== "object" || o.ipam === null || Array.isArray(o.ipam))) {
    invalid(`${field}.ipam`, "must be an object");
  }
  if (o.dns !== undefined && (typeof o.dns !== "object" || o.dns === null || Array.isArray(o.dns))) {
    invalid(`${field}.dns`, "must be an object");
  }
  return o as NetConf;
}

/**
 * Parse and validate a `.conflist` (libcni `NetworkConfFromBytes`), then pick
 * the version to use (see {@link negotiateVersion}).
 * @throws {@link CniError} code 6 for bad JSON, code 7 naming the bad field.
 */
export function parseNetConfList(text: string): LoadedNetConfList {
  const o = parseJsonObject(text, "configuration list");
  if (typeof o.name !== "string") invalid("name", "missing network name");
  validateNetworkName(o.name as string);
  if (o.cniVersion !== undefined && typeof o.cniVersion !== "string") invalid("cniVersion", "must be a string");
  const cniVersion = (o.cniVersion as string | undefined) ?? "";
  if (cniVersion !== "" && !isValidVersion(cniVersion))
    invalid("cniVersion", `invalid version ${JSON.stringify(cniVersion)}`);
  let cniVersions: string[] | undefined;
  if (o.cniVersions !== undefined) {
    if (!Array.isArray(o.cniVersions)) invalid("cniVersions", "must be an array of strings");
    cniVersions = (o.cniVersions as unknown[]).map((x, i) =>
      typeof x === "string" ? x : invalid(`cniVersions[${i}]`, "must be a string"),
    );
  }
  if (!Array.isArray(o.plugins)) {
    return invalid("plugins", o.plugins === undefined ? "missing plugins list" : "must be an array");
  }
  if (o.plugins.length === 0) invalid("plugins", "must have at least one plugin");
  const plugins = (o.plugins as unknown[]).map((p, i) => validatePluginConf(p, `plugins[${i}]`));
  const base = {
    cniVersion,
    name: o.name as string,
    disableCheck: parseFlag(o.disableCheck, "disableCheck"),
    disableGC: parseFlag(o.disableGC, "disableGC"),
    plugins,
  };
  const list: NetConfList = cniVersions ? { ...base, cniVersions } : base;
  return { ...list, effectiveVersion: negotiateVersion(list), bytes: text };
}

/**
 * Parse a single-plugin config (`.conf`, pre-1.0 style) and wrap it as a
 * one-element list, as libcni's deprecated path does.
 * @throws {@link CniError} code 6 / 7 naming the bad field.
 */
export function parseNetConf(text: string): LoadedNetConfList {
  const o = parseJsonObject(text, "network configuration");
  if (typeof o.name !== "string") invalid("name", "missing network name");
  validateNetworkName(o.name as string);
  const conf = validatePluginConf(o, "config");
  const cniVersion = typeof o.cniVersion === "string" ? o.cniVersion : "";
  if (cniVersion !== "" && !isValidVersion(cniVersion))
    invalid("cniVersion", `invalid version ${JSON.stringify(cniVersion)}`);
  const list: NetConfList = {
    cniVersion,
    name: o.name as string,
    disableCheck: false,
    disableGC: false,
    plugins: [conf],
  };
  return { ...list, effectiveVersion: cniVersion || "0.1.0", bytes: text };
}

/** Parse either a list (it has `plugins`) or a single config. */
export function parseNetworkConfig(text: string): LoadedNetConfList {
  const o = parseJsonObject(text, "network configuration");
  return "plugins" in o ? parseNetConfList(text) : parseNetConf(text);
}

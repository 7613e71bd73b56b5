/**
 * CNI spec versions: parsing, comparison, the VERSION verb's answer and the
 * version negotiation a runtime does for a configuration list.
 */
import { CniError, ErrorCode } from "./errors.js";

/** Every published spec version, oldest first. */
export const SPEC_VERSIONS: readonly string[] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/** The spec version this package implements (what VERSION answers in `cniVersion`). */
export const CURRENT_VERSION = "1.1.0";

/** The answer to the VERSION verb. */
export interface VersionInfo {
  /** The version of the spec the plugin's library implements. */
  readonly cniVersion: string;
  /** Every spec version the plugin accepts on input. */
  readonly supportedVersions: readonly string[];
}

/**
 * Parse `major.minor.micro` into numbers, as libcni does: "" means 0.1.0 (no
 * declared version), missing parts are 0, more than three parts is an error.
 * @throws {@link CniError} code 6 for text that is not a version.
 */
export function parseVersion(version: string): [number, number, number] {
  if (version === "") return [0, 1, 0];
  const parts = version.split(".");
  if (parts.length > 3)
    throw new CniError(ErrorCode.DecodingFailure, `invalid version ${JSON.stringify(version)}: too many parts`);
  const out: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? "";
    if (!/^[0-9]+$/.test(p)) {
      throw new CniError(
        ErrorCode.DecodingFailure,
        `invalid version ${JSON.stringify(version)}: part ${JSON.stringify(p)} is not a number`,
      );
    }
    out[i] = Number(p);
  }
  return out;
}

/** True when `version` parses (see {@link parseVersion}). */
export function isValidVersion(version: string): boolean {
  try {
    parseVersion(version);
    return true;
  } catch {
    return false;
  }
}

/** Compare two versions: negative, zero or positive. @throws {@link CniError} code 6 for a bad version. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** `a >= b` as versions. */
export function versionAtLeast(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/** The VERSION answer for a plugin supporting `supportedVersions` (default: every version). */
export function versionInfo(supportedVersions: readonly string[] = SPEC_VERSIONS): VersionInfo {
  if (supportedVersions.length === 0) throw new RangeError("a plugin must support at least one CNI version");
  return { cniVersion: CURRENT_VERSION, supportedVersions: [...supportedVersions] };
}

/**
 * Decode a plugin's VERSION output the way libcni does: `cniVersion` is
 * required; a missing `supportedVersions` is accepted only from a 0.2.0 plugin
 * (then it supports 0.1.0 and 0.2.0).
 * @throws {@link CniError} code 6 naming the missing field.
 */
export function decodeVersionInfo(text: string): VersionInfo {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `decoding version info: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new CniError(ErrorCode.DecodingFailure, "decoding version info: not a JSON object");
  }
  const o = v as Record<string, unknown>;
  if (typeof o.cniVersion !== "string" || o.cniVersion === "") {
    throw new CniError(ErrorCode.DecodingFailure, "decoding version info: missing field cniVersion", "", "cniVersion");
  }
  const sv = o.supportedVersions;
  if (!Array.isArray(sv) || sv.length === 0) {
    if (o.cniVersion === "0.2.0") return { cniVersion: "0.2.0", supportedVersions: ["0.1.0", "0.2.0"] };
    throw new CniError(
      ErrorCode.DecodingFailure,
      "decoding version info: missing field supportedVersions",
      "",
      "supportedVersions",
    );
  }
  if (!sv.every((x) => typeof x === "string")) {
    throw new CniError(ErrorCode.DecodingFailure, "decoding version info: supportedVersions must be strings");
  }
  return { cniVersion: o.cniVersion, supportedVersions: sv as string[] };
}

/** Go's `%q` of a string slice: `["a" "b"]`. */
export function goQuoteList(items: readonly string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(" ")}]`;
}

/**
 * The skel's version gate: the config's version must be exactly one of the
 * plugin's supported versions.
 * @throws {@link CniError} code 1 `incompatible CNI versions` with libcni's details text.
 */
export function checkVersionSupported(configVersion: string, supported: readonly string[]): void {
  if (supported.includes(configVersion)) return;
  throw new CniError(
    ErrorCode.IncompatibleCniVersion,
    "incompatible CNI versions",
    `config is ${JSON.stringify(configVersion)}, plugin supports ${goQuoteList(supported)}`,
  );
}

/**
 * Pick the version a runtime uses for a configuration list: the highest of
 * `cniVersion` and the 1.1 `cniVersions` list that the runtime supports
 * (`runtimeMax`, default {@link CURRENT_VERSION}); entries above it are ignored,
 * as libcni does. With `pluginSupported` (the plugins' VERSION answers), the
 * pick is further limited to versions every plugin supports.
 * @throws {@link CniError} code 7 naming the field for an unparsable entry,
 * code 1 when no candidate is left.
 */
export function negotiateVersion(
  list: { readonly cniVersion?: string; readonly cniVersions?: readonly string[] },
  runtimeMax: string = CURRENT_VERSION,
  pluginSupported?: readonly (readonly string[])[],
): string {
  const candidates: string[] = [];
  const consider = (v: string, field: string): void => {
    if (!isValidVersion(v)) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid version ${JSON.stringify(v)} in ${field}`, "", field);
    }
    if (compareVersions(v, runtimeMax) > 0) return;
    if (pluginSupported && !pluginSupported.every((s) => s.includes(v))) return;
    candidates.push(v);
  };
  if (list.cniVersion !== undefined && list.cniVersion !== "") consider(list.cniVersion, "cniVersion");
  (list.cniVersions ?? []).forEach((v, i) => {
    consider(v, `cniVersions[${i}]`);
  });
  if (candidates.length === 0) {
    const all = [list.cniVersion ?? "", ...(list.cniVersions ?? [])].filter((v) => v !== "");
    if (all.length === 0 && !pluginSupported) return "0.1.0";
    throw new CniError(
      ErrorCode.IncompatibleCniVersion,
      "no supported CNI version",
      `config offers ${goQuoteList(all)}, runtime supports up to ${runtimeMax}`,
      "cniVersion",
    );
  }
  candidates.sort(compareVersions);
  return candidates[candidates.length - 1] as string;
}

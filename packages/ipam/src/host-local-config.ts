/**
 * Loading a host-local network config: the `ipam` section, legacy single-range
 * keys, `runtimeConfig.ipRanges`/`ips`, `args.cni.ips` and CNI_ARGS `IP=`, with
 * host-local's validation order and error texts.
 */
import type { Addr } from "@knet/netstack";
import { IpamError } from "./errors.js";
import {
  canonicalizeRangeSet,
  parseCidr,
  parseIp,
  parseIpMaybePrefix,
  type RangeConfig,
  type RangeSet,
  rangeSetsOverlap,
} from "./ip-range.js";

/** The default store directory of host-local. */
export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

/** A route copied from `ipam.routes` into the result. */
export interface HostLocalRoute {
  /** Destination CIDR. */
  readonly dst: string;
  /** Next hop; absent means "the gateway of the matching family". */
  readonly gw?: string;
}

/** A loaded, validated host-local configuration. */
export interface HostLocalConfig {
  /** Network name (the store directory name). */
  readonly name: string;
  /** `cniVersion` of the config ("" when missing). */
  readonly cniVersion: string;
  /** Range sets in their final order (runtime ipRanges, legacy subnet, ranges). */
  readonly rangeSets: readonly RangeSet[];
  /** Requested IPs in host-local's merge order: CNI_ARGS `IP`, `args.cni.ips`, `runtimeConfig.ips`. */
  readonly requestedIps: readonly Addr[];
  /** Routes for the result. */
  readonly routes: readonly HostLocalRoute[];
  /** Store directory root (`ipam.dataDir`, default {@link DEFAULT_DATA_DIR}). */
  readonly dataDir: string;
  /** Path of a resolv.conf whose contents become the result's `dns`, if set. */
  readonly resolvConf: string | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parse CNI_ARGS the way libcni's `LoadArgs` does for host-local's argument
 * struct: `K=V` pairs split on `;`, keys `IP` and `IgnoreUnknown` (case
 * sensitive), unknown keys rejected unless `IgnoreUnknown` is true.
 * @returns the requested IP, if any.
 * @throws {@link IpamError} (`ARGS: invalid pair "x"`, `ARGS: unknown args [...]`, ...).
 */
export function parseHostLocalCniArgs(cniArgs: string): Addr | undefined {
  if (cniArgs === "") return undefined;
  const unknown: string[] = [];
  let ignoreUnknown = false;
  let ip: Addr | undefined;
  for (const pair of cniArgs.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) throw new IpamError(`ARGS: invalid pair ${JSON.stringify(pair)}`, "CNI_ARGS");
    const [key, value] = kv as [string, string];
    if (key === "IP") {
      // An empty value is no request (go's ip.IP unmarshals "" to the empty IP, which host-local ignores).
      if (value === "") {
        ip = undefined;
        continue;
      }
      const a = parseIpMaybePrefix(value);
      if (!a) {
        throw new IpamError(
          `ARGS: error parsing value of pair ${JSON.stringify(pair)}: invalid IP address ${value}`,
          "CNI_ARGS",
        );
      }
      ip = a;
    } else if (key === "IgnoreUnknown") {
      const v = value.toLowerCase();
      if (v === "1" || v === "true") ignoreUnknown = true;
      else if (v === "0" || v === "false") ignoreUnknown = false;
      else {
        throw new IpamError(
          `ARGS: error parsing value of pair ${JSON.stringify(pair)}: boolean unmarshal error: invalid input ${value}`,
          "CNI_ARGS",
        );
      }
    } else {
      unknown.push(pair);
    }
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new IpamError(`ARGS: unknown args [${unknown.map((u) => JSON.stringify(u)).join(" ")}]`, "CNI_ARGS");
  }
  return ip;
}

function ipList(v: unknown, field: string): Addr[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw new IpamError(`json: cannot unmarshal ${typeof v} into Go value of type []*ip.IP`, field);
  return v.map((x) => {
    const a = typeof x === "string" ? parseIpMaybePrefix(x) : undefined;
    if (!a) throw new IpamError(`invalid IP address ${String(x)}`, field);
    return a;
  });
}

/** Syntax checks that Go's JSON decoding does for one range (before any canonicalisation). */
function decodeRange(r: Record<string, unknown>, field: string): void {
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined || v === null) continue;
    if (k === "subnet") {
      if (typeof v !== "string" || !parseCidr(v)) throw new IpamError(`invalid CIDR address: ${String(v)}`, field);
    } else if (k === "rangeStart" || k === "rangeEnd" || k === "gateway") {
      if (typeof v !== "string" || (v !== "" && !parseIp(v)))
        throw new IpamError(`invalid IP address: ${String(v)}`, field);
    }
  }
}

function rangeSetList(v: unknown, field: string): RangeConfig[][] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw new IpamError(`json: cannot unmarshal ${typeof v} into Go value of type []allocator.RangeSet`, field);
  return v.map((set) => {
    if (set === null) return [];
    if (!Array.isArray(set))
      throw new IpamError(`json: cannot unmarshal ${typeof set} into Go value of type allocator.RangeSet`, field);
    return set.map((r) => {
      if (!isObject(r)) return {} as RangeConfig;
      decodeRange(r, field);
      return r as unknown as RangeConfig;
    });
  });
}

function semverAtLeast(v: string, min: [number, number, number]): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) return false;
  const a = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) {
    const x = a[i] as number;
    const y = min[i] as number;
    if (x !== y) return x > y;
  }
  return true;
}

function routes(v: unknown): HostLocalRoute[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw new IpamError(`json: cannot unmarshal ${typeof v} into Go value of type []*types.Route`, "ipam.routes");
  return v.map((r) => {
    if (!isObject(r)) throw new IpamError("json: cannot unmarshal into Go value of type types.Route", "ipam.routes");
    const dst = typeof r.dst === "string" ? parseCidr(r.dst) : undefined;
    if (!dst) throw new IpamError(`invalid CIDR address: ${String(r.dst)}`, "ipam.routes");
    const out: { dst: string; gw?: string } = { dst: `${dst.addr}/${dst.length}` };
    if (r.gw !== undefined && r.gw !== null && r.gw !== "") {
      const gw = typeof r.gw === "string" ? parseIp(r.gw) : undefined;
      if (!gw) throw new IpamError(`invalid IP address: ${String(r.gw)}`, "ipam.routes");
      out.gw = gw.toString();
    }
    return out;
  });
}

/**
 * Load and validate a host-local config (the whole plugin config object as read
 * from stdin) plus the CNI_ARGS string, exactly in host-local's order.
 * @throws {@link IpamError} with host-local's message.
 */
export function loadHostLocalConfig(config: unknown, cniArgs = ""): HostLocalConfig {
  if (!isObject(config)) throw new IpamError("json: cannot unmarshal into Go value of type allocator.Net");
  const ipam = config.ipam;
  if (ipam === undefined || ipam === null) throw new IpamError("IPAM config missing 'ipam' key", "ipam");
  if (!isObject(ipam))
    throw new IpamError(
      `json: cannot unmarshal ${typeof ipam} into Go struct field Net.ipam of type allocator.IPAMConfig`,
      "ipam",
    );
  const name = typeof config.name === "string" ? config.name : "";
  const cniVersion = typeof config.cniVersion === "string" ? config.cniVersion : "";
  const runtimeConfig = isObject(config.runtimeConfig) ? config.runtimeConfig : {};
  const args = isObject(config.args) ? config.args : {};
  const argsCni = isObject(args.cni) ? args.cni : {};
  // JSON decoding errors surface first, in document order (as Go's decoder stops at the first), then CNI_ARGS.
  let runtimeIps: Addr[] = [];
  let argIps: Addr[] = [];
  let runtimeRanges: RangeConfig[][] = [];
  let configRanges: RangeConfig[][] = [];
  let routeList: HostLocalRoute[] = [];
  for (const key of Object.keys(config)) {
    if (key === "ipam") {
      for (const k of Object.keys(ipam)) {
        if (k === "ranges") configRanges = rangeSetList(ipam.ranges, "ipam.ranges");
        else if (k === "routes") routeList = routes(ipam.routes);
        else if (k === "subnet" || k === "rangeStart" || k === "rangeEnd" || k === "gateway") {
          decodeRange({ [k]: ipam[k] }, `ipam.${k}`);
        }
      }
    } else if (key === "runtimeConfig") {
      for (const k of Object.keys(runtimeConfig)) {
        if (k === "ips") runtimeIps = ipList(runtimeConfig.ips, "runtimeConfig.ips");
        else if (k === "ipRanges") runtimeRanges = rangeSetList(runtimeConfig.ipRanges, "runtimeConfig.ipRanges");
      }
    } else if (key === "args") {
      argIps = ipList(argsCni.ips, "args.cni.ips");
    }
  }
  const envIp = parseHostLocalCniArgs(cniArgs);
  const requestedIps: Addr[] = [];
  if (envIp) requestedIps.push(envIp);
  requestedIps.push(...argIps, ...runtimeIps);

  const sets: RangeConfig[][] = [];
  sets.push(...runtimeRanges);
  if (ipam.subnet !== undefined && ipam.subnet !== null && ipam.subnet !== "") {
    const legacy: { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string } = {
      subnet: ipam.subnet as string,
    };
    for (const k of ["rangeStart", "rangeEnd", "gateway"] as const) {
      const v = ipam[k];
      if (v !== undefined && v !== null && v !== "") legacy[k] = v as string;
    }
    sets.push([legacy]);
  }
  sets.push(...configRanges);
  if (sets.length === 0) throw new IpamError("no IP ranges specified", "ipam.ranges");

  const rangeSets: RangeSet[] = [];
  let v4 = 0;
  let v6 = 0;
  for (const [i, s] of sets.entries()) {
    try {
      const set = canonicalizeRangeSet(s);
      rangeSets.push(set);
      if (set[0]?.rangeStart.family === 4) v4++;
      else v6++;
    } catch (e) {
      if (e instanceof IpamError) throw new IpamError(`invalid range set ${i}: ${e.message}`, "ipam.ranges");
      throw e;
    }
  }
  if ((v4 > 1 || v6 > 1) && !semverAtLeast(cniVersion, [0, 3, 0])) {
    throw new IpamError(`CNI version ${cniVersion} does not support more than 1 address per family`, "cniVersion");
  }
  for (let i = 0; i < rangeSets.length - 1; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i] as RangeSet, rangeSets[j] as RangeSet)) {
        throw new IpamError(`range set ${i} overlaps with ${j}`, "ipam.ranges");
      }
    }
  }
  const dataDir = typeof ipam.dataDir === "string" && ipam.dataDir !== "" ? ipam.dataDir : DEFAULT_DATA_DIR;
  const resolvConf = typeof ipam.resolvConf === "string" && ipam.resolvConf !== "" ? ipam.resolvConf : undefined;
  return { name, cniVersion, rangeSets, requestedIps, routes: routeList, dataDir, resolvConf };
}

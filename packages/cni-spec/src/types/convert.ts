/**
 * One converter registry for results of every version (as libcni's
 * `pkg/types/internal/convert.go`): results are parsed into the shape of their
 * version and converted along registered edges 1.x <-> 0.4.0 <-> 0.2.0. Every
 * field that the target version cannot express is reported in `dropped`.
 */
import { Addr } from "@knet/netstack";
import { CniError, ErrorCode } from "../errors.js";
import { compact } from "../internal/check.js";
import { isValidVersion } from "../version.js";
import type { Route } from "./common.js";
import { parseResult020, type Result020, VERSIONS_020 } from "./v020.js";
import { type IPConfig040, parseResult040, type Result040, VERSIONS_040 } from "./v040.js";
import { parseResult100, type Result100, VERSIONS_100 } from "./v100.js";

/** A result of any version. `cniVersion` tells which shape it has. */
export type Result = Result020 | Result040 | Result100;

/** The three result shapes ("families") of the spec. */
export type ResultFamily = "020" | "040" | "100";

/** A converted result and what could not be carried over. */
export interface Conversion<R extends Result = Result> {
  /** The result in the target version. */
  readonly result: R;
  /**
   * Paths of input fields the target version cannot express (e.g.
   * `interfaces[0].mtu`, `ips[2]`, `interfaces`), in input order. Empty when
   * the conversion lost nothing.
   */
  readonly dropped: readonly string[];
}

/** The result family of a version. @throws {@link CniError} code 1 for an unknown version. */
export function resultFamily(version: string): ResultFamily {
  if (version === "" || VERSIONS_020.includes(version)) return "020";
  if (VERSIONS_040.includes(version)) return "040";
  if (VERSIONS_100.includes(version)) return "100";
  throw new CniError(ErrorCode.IncompatibleCniVersion, `unsupported CNI result version ${JSON.stringify(version)}`);
}

/** True when `r` is a 1.0.0/1.1.0 result. */
export function isResult100(r: Result): r is Result100 {
  return resultFamily(r.cniVersion) === "100";
}
/** True when `r` is a 0.3.x/0.4.0 result. */
export function isResult040(r: Result): r is Result040 {
  return resultFamily(r.cniVersion) === "040";
}
/** True when `r` is a 0.1.0/0.2.0 result. */
export function isResult020(r: Result): r is Result020 {
  return resultFamily(r.cniVersion) === "020";
}

/**
 * Parse and validate a result (JSON text or a parsed object). A missing or
 * empty `cniVersion` is taken from `fallbackVersion` (libcni fills it with the
 * config's version), else it means 0.1.0.
 * @throws {@link CniError} code 6 naming the bad field, code 1 for an unknown version.
 */
export function parseResult(input: string | object, fallbackVersion = ""): Result {
  let v: unknown = input;
  if (typeof input === "string") {
    try {
      v = JSON.parse(input);
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, `failed to decode result: ${(e as Error).message}`);
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new CniError(ErrorCode.DecodingFailure, "failed to decode result: not a JSON object");
  }
  const o = v as Record<string, unknown>;
  if (o.cniVersion !== undefined && typeof o.cniVersion !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, "cniVersion: must be a string", "", "cniVersion");
  }
  let version = (o.cniVersion as string | undefined) || fallbackVersion || "0.1.0";
  if (!isValidVersion(version)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `cniVersion: invalid version ${JSON.stringify(version)}`,
      "",
      "cniVersion",
    );
  }
  const fam = resultFamily(version);
  if (version === "") version = "0.1.0";
  const code = ErrorCode.DecodingFailure;
  if (fam === "020") return parseResult020(o, version, code);
  if (fam === "040") return parseResult040(o, version, code);
  return parseResult100(o, version, code);
}

type Edge = (r: Result, to: string, dropped: string[]) => Result;

const familyOf = (r: Result): ResultFamily => resultFamily(r.cniVersion);

/** 1.x -> 0.3.x/0.4.0: add `version`, drop 1.1-only interface fields. */
const from100to040: Edge = (r, to, dropped) => {
  const x = r as Result100;
  return compact({
    cniVersion: to,
    interfaces: x.interfaces?.map((i, n) => {
      for (const k of ["mtu", "socketPath", "pciID"] as const) {
        if (i[k] !== undefined) dropped.push(`interfaces[${n}].${k}`);
      }
      return compact({ name: i.name, mac: i.mac, sandbox: i.sandbox });
    }),
    ips: x.ips?.map(
      (ip): IPConfig040 =>
        compact({
          version: addrFamily(ip.address) === 4 ? "4" : "6",
          interface: ip.interface,
          address: ip.address,
          gateway: ip.gateway,
        }) as IPConfig040,
    ),
    routes: x.routes?.map((rt) => ({ ...rt })),
    dns: x.dns,
  });
};

/** 0.3.x/0.4.0 -> 1.x: drop `version`. */
const from040to100: Edge = (r, to) => {
  const x = r as Result040;
  return compact({
    cniVersion: to,
    interfaces: x.interfaces?.map((i) => ({ ...i })),
    ips: x.ips?.map((ip) => compact({ interface: ip.interface, address: ip.address, gateway: ip.gateway })),
    routes: x.routes?.map((rt) => ({ ...rt })),
    dns: x.dns,
  });
};

/** 0.3.x/0.4.0 -> 0.1.0/0.2.0: first address of each family, routes by family. */
const from040to020: Edge = (r, to, dropped) => {
  const x = r as Result040;
  let ip4: { ip: string; gateway?: string; routes?: Route[] } | undefined;
  let ip6: { ip: string; gateway?: string; routes?: Route[] } | undefined;
  if (x.interfaces?.length) dropped.push("interfaces");
  (x.ips ?? []).forEach((ip, n) => {
    const fam = addrFamily(ip.address);
    let taken = true;
    if (fam === 4 && !ip4) ip4 = compact({ ip: ip.address, gateway: ip.gateway });
    else if (fam === 6 && !ip6) ip6 = compact({ ip: ip.address, gateway: ip.gateway });
    else taken = false;
    if (!taken) dropped.push(`ips[${n}]`);
    else if (ip.interface !== undefined) dropped.push(`ips[${n}].interface`);
  });
  if (!ip4 && !ip6) throw new CniError(ErrorCode.IncompatibleCniVersion, "cannot convert: no valid IP addresses");
  (x.routes ?? []).forEach((rt, n) => {
    const target = addrFamily(rt.dst) === 4 ? ip4 : ip6;
    if (!target) {
      dropped.push(`routes[${n}]`);
      return;
    }
    for (const k of ["mtu", "advmss", "priority", "table", "scope"] as const) {
      if (rt[k] !== undefined) dropped.push(`routes[${n}].${k}`);
    }
    target.routes ??= [];
    target.routes.push(compact({ dst: rt.dst, gw: rt.gw }));
  });
  return compact({ cniVersion: to, ip4, ip6, dns: x.dns });
};

/** 0.1.0/0.2.0 -> 0.3.x/0.4.0: ip4 then ip6 as `ips`, their routes concatenated. */
const from020to040: Edge = (r, to) => {
  const x = r as Result020;
  const ips: IPConfig040[] = [];
  const routes: Route[] = [];
  if (x.ip4) {
    ips.push(compact({ version: "4", address: x.ip4.ip, gateway: x.ip4.gateway }) as IPConfig040);
    routes.push(...(x.ip4.routes ?? []));
  }
  if (x.ip6) {
    ips.push(compact({ version: "6", address: x.ip6.ip, gateway: x.ip6.gateway }) as IPConfig040);
    routes.push(...(x.ip6.routes ?? []));
  }
  return compact({ cniVersion: to, ips, routes: routes.length ? routes : undefined, dns: x.dns });
};

/** Same family: only the version string changes. */
const sameFamily: Edge = (r, to) => ({ ...r, cniVersion: to }) as Result;

const registry = new Map<string, Edge>([
  ["100>040", from100to040],
  ["040>100", from040to100],
  ["040>020", from040to020],
  ["020>040", from020to040],
]);

/** The family path from one family to another along registered edges. */
function familyPath(from: ResultFamily, to: ResultFamily): ResultFamily[] {
  const order: ResultFamily[] = ["020", "040", "100"];
  const a = order.indexOf(from);
  const b = order.indexOf(to);
  const path: ResultFamily[] = [from];
  for (let i = a; i !== b; i += a < b ? 1 : -1) path.push(order[i + (a < b ? 1 : -1)] as ResultFamily);
  return path;
}

/** The versions a representative conversion step goes through, e.g. 1.0.0 -> 0.2.0 passes 0.4.0. */
const familyVersion: Record<ResultFamily, string> = { "020": "0.2.0", "040": "0.4.0", "100": "1.0.0" };

/**
 * Convert a result to `toVersion`, reporting what the target cannot express.
 * 1.0.0 <-> 1.1.0 and 0.3.0 <-> 0.3.1 <-> 0.4.0 only rewrite `cniVersion`
 * (libcni shares one type per family, so 1.1 fields survive in 1.0.0 output).
 * @throws {@link CniError} code 1 for an unknown version or when the target
 * cannot hold the result at all (`cannot convert: no valid IP addresses`).
 */
export function convertResult<R extends Result = Result>(result: Result, toVersion: string): Conversion<R> {
  const target = resultFamily(toVersion);
  const to = toVersion === "" ? "0.1.0" : toVersion;
  const dropped: string[] = [];
  const path = familyPath(familyOf(result), target);
  let cur: Result = result;
  for (let i = 1; i < path.length; i++) {
    const edge = registry.get(`${path[i - 1]}>${path[i]}`);
    if (!edge) throw new CniError(ErrorCode.IncompatibleCniVersion, `no converter from ${path[i - 1]} to ${path[i]}`);
    const stepVersion = i === path.length - 1 ? to : familyVersion[path[i] as ResultFamily];
    cur = edge(cur, stepVersion, dropped);
  }
  if (path.length === 1) cur = sameFamily(cur, to, dropped);
  return { result: cur as R, dropped };
}

function addrFamily(cidrText: string): 4 | 6 {
  const slash = cidrText.indexOf("/");
  return Addr.parse(slash < 0 ? cidrText : cidrText.slice(0, slash)).family;
}

/**
 * Results of spec 0.3.0, 0.3.1 and 0.4.0: interfaces, addresses that carry
 * their family in `version`, and top-level routes.
 */
import { arr, compact, fail, ip, ipNet, obj, optInt, optStr } from "../internal/check.js";
import { type DNS, parseDns, parseRoutes, type Route } from "./common.js";

/** The versions whose results have this shape. */
export const VERSIONS_040: readonly string[] = ["0.3.0", "0.3.1", "0.4.0"];

/** An interface of a 0.3.x/0.4.0 result. */
export interface Interface040 {
  /** Interface name. */
  readonly name: string;
  /** Hardware address. */
  readonly mac?: string;
  /** Netns path for container interfaces; absent for host interfaces. */
  readonly sandbox?: string;
}

/** An address of a 0.3.x/0.4.0 result. */
export interface IPConfig040 {
  /** "4" or "6": the address family. */
  readonly version: "4" | "6";
  /** Index into `interfaces` (absent in IPAM results). */
  readonly interface?: number;
  /** Address with prefix (`10.1.0.5/16`). */
  readonly address: string;
  /** Gateway (optional). */
  readonly gateway?: string;
}

/** A 0.3.0 / 0.3.1 / 0.4.0 result. */
export interface Result040 {
  /** "0.3.0", "0.3.1" or "0.4.0". */
  readonly cniVersion: string;
  /** Interfaces the plugin created or used. */
  readonly interfaces?: readonly Interface040[];
  /** Assigned addresses. */
  readonly ips?: readonly IPConfig040[];
  /** Routes. */
  readonly routes?: readonly Route[];
  /** DNS settings. */
  readonly dns?: DNS;
}

/** Validate a 0.3.x/0.4.0 result object (`code` = error code for a bad field). */
export function parseResult040(o: Record<string, unknown>, version: string, code: number): Result040 {
  const interfaces =
    o.interfaces === undefined || o.interfaces === null
      ? undefined
      : arr(o.interfaces, "interfaces", code).map((x, i) => {
          const p = `interfaces[${i}]`;
          const io = obj(x, p, code);
          if (typeof io.name !== "string") fail(code, `${p}.name`, "must be a string");
          return compact({
            name: io.name,
            mac: optStr(io.mac, `${p}.mac`, code),
            sandbox: optStr(io.sandbox, `${p}.sandbox`, code),
          });
        });
  const ips =
    o.ips === undefined || o.ips === null
      ? undefined
      : arr(o.ips, "ips", code).map((x, i) => {
          const p = `ips[${i}]`;
          const io = obj(x, p, code);
          const net = ipNet(io.address, `${p}.address`, code);
          const fam = net.addr.family === 4 ? "4" : "6";
          if (io.version !== undefined && io.version !== fam) {
            fail(code, `${p}.version`, `must be "${fam}" for ${String(io.address)}, got ${JSON.stringify(io.version)}`);
          }
          if (io.gateway !== undefined && io.gateway !== null && io.gateway !== "")
            ip(io.gateway, `${p}.gateway`, code);
          return compact({
            version: fam,
            interface: optInt(io.interface, `${p}.interface`, code),
            address: io.address as string,
            gateway: io.gateway === "" ? undefined : optStr(io.gateway, `${p}.gateway`, code),
          }) as IPConfig040;
        });
  return compact({
    cniVersion: version,
    interfaces,
    ips,
    routes: parseRoutes(o.routes, "routes", code),
    dns: o.dns === undefined || o.dns === null ? undefined : parseDns(o.dns, "dns", code),
  });
}

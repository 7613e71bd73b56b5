/**
 * Results of spec 1.0.0 and 1.1.0 (one shape, as in libcni's `types100`):
 * like 0.4.0 without `ips[].version`; 1.1.0 adds interface `mtu`,
 * `socketPath`, `pciID` and route `mtu`, `advmss`, `priority`, `table`, `scope`.
 */
import { arr, compact, fail, ip, ipNet, obj, optInt, optStr } from "../internal/check.js";
import { type DNS, parseDns, parseRoutes, type Route } from "./common.js";

/** The versions whose results have this shape. */
export const VERSIONS_100: readonly string[] = ["1.0.0", "1.1.0"];

/** An interface of a 1.x result. */
export interface Interface {
  /** Interface name. */
  readonly name: string;
  /** Hardware address. */
  readonly mac?: string;
  /** MTU (1.1.0). */
  readonly mtu?: number;
  /** Netns path for container interfaces; absent for host interfaces. */
  readonly sandbox?: string;
  /** vhost-user socket path (1.1.0). */
  readonly socketPath?: string;
  /** PCI id of the device (1.1.0). */
  readonly pciID?: string;
}

/** An address of a 1.x result (what IPAM plugins return). */
export interface IPConfig {
  /** Index into `interfaces` (absent in IPAM results). */
  readonly interface?: number;
  /** Address with prefix (`10.1.0.5/16`). */
  readonly address: string;
  /** Gateway (optional). */
  readonly gateway?: string;
}

/** A 1.0.0 / 1.1.0 result. */
export interface Result100 {
  /** "1.0.0" or "1.1.0". */
  readonly cniVersion: string;
  /** Interfaces the plugin created or used. */
  readonly interfaces?: readonly Interface[];
  /** Assigned addresses. */
  readonly ips?: readonly IPConfig[];
  /** Routes. */
  readonly routes?: readonly Route[];
  /** DNS settings. */
  readonly dns?: DNS;
}

/** Validate a 1.x result object (`code` = error code for a bad field). */
export function parseResult100(o: Record<string, unknown>, version: string, code: number): Result100 {
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
            mtu: optInt(io.mtu, `${p}.mtu`, code),
            sandbox: optStr(io.sandbox, `${p}.sandbox`, code),
            socketPath: optStr(io.socketPath, `${p}.socketPath`, code),
            pciID: optStr(io.pciID, `${p}.pciID`, code),
          });
        });
  const ips =
    o.ips === undefined || o.ips === null
      ? undefined
      : arr(o.ips, "ips", code).map((x, i) => {
          const p = `ips[${i}]`;
          const io = obj(x, p, code);
          ipNet(io.address, `${p}.address`, code);
          if (io.gateway !== undefined && io.gateway !== null && io.gateway !== "")
            ip(io.gateway, `${p}.gateway`, code);
          return compact({
            interface: optInt(io.interface, `${p}.interface`, code),
            address: io.address as string,
            gateway: io.gateway === "" ? undefined : optStr(io.gateway, `${p}.gateway`, code),
          });
        });
  return compact({
    cniVersion: version,
    interfaces,
    ips,
    routes: parseRoutes(o.routes, "routes", code),
    dns: o.dns === undefined || o.dns === null ? undefined : parseDns(o.dns, "dns", code),
  });
}

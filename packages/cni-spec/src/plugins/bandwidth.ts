/**
 * In-process `bandwidth` reference plugin: a chained plugin that validates
 * the ingress/egress rate and burst (config keys or the `bandwidth`
 * capability) like the reference plugin and records the limits per
 * attachment instead of creating tc qdiscs.
 */
import { CniError, ErrorCode } from "../errors.js";
import type { CmdArgs, Plugin } from "../plugin.js";
import { parseResult, type Result } from "../types/convert.js";

/** Limits for one attachment, in bits per second and bits (0 = unlimited). */
export interface BandwidthLimits {
  /** Ingress rate (bit/s). */
  readonly ingressRate: number;
  /** Ingress burst (bits). */
  readonly ingressBurst: number;
  /** Egress rate (bit/s). */
  readonly egressRate: number;
  /** Egress burst (bits). */
  readonly egressBurst: number;
}

/** The limits the in-process bandwidth plugin has applied, keyed `containerId/ifName`. */
export type BandwidthRecord = Map<string, BandwidthLimits>;

function num(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${field}: must be a non-negative integer`, "", field);
  }
  return v;
}

function validateRateAndBurst(rate: number, burst: number): void {
  if (burst > 0 && rate === 0) throw new CniError(ErrorCode.Internal, "if burst is set, rate must also be set");
  if (rate > 0 && burst === 0) throw new CniError(ErrorCode.Internal, "if rate is set, burst must also be set");
  if (Math.floor(burst / 8) >= 0xffffffff) throw new CniError(ErrorCode.Internal, "burst cannot be more than 4GB");
}

/** The limits a config asks for (`runtimeConfig.bandwidth` replaces the config's own keys). */
export function bandwidthLimits(config: Readonly<Record<string, unknown>>): BandwidthLimits {
  const rc = config.runtimeConfig as Record<string, unknown> | undefined;
  const fromRc = rc?.bandwidth as Record<string, unknown> | undefined;
  const src = fromRc ?? config;
  const pre = fromRc ? "runtimeConfig.bandwidth." : "";
  const limits = {
    ingressRate: num(src.ingressRate, `${pre}ingressRate`),
    ingressBurst: num(src.ingressBurst, `${pre}ingressBurst`),
    egressRate: num(src.egressRate, `${pre}egressRate`),
    egressBurst: num(src.egressBurst, `${pre}egressBurst`),
  };
  validateRateAndBurst(limits.ingressRate, limits.ingressBurst);
  validateRateAndBurst(limits.egressRate, limits.egressBurst);
  return limits;
}

/** The in-process bandwidth plugin, recording into `record`. */
export function bandwidthPlugin(record: BandwidthRecord = new Map()): Plugin {
  const key = (a: CmdArgs): string => `${a.containerId}/${a.ifName}`;
  const prev = (a: CmdArgs): Result => {
    if (a.config.prevResult === undefined || a.config.prevResult === null) {
      throw new CniError(ErrorCode.Internal, "must be called as chained plugin");
    }
    return parseResult(a.config.prevResult as object, a.cniVersion);
  };
  return {
    add(a) {
      const limits = bandwidthLimits(a.config);
      const result = prev(a);
      if (limits.ingressRate > 0 || limits.egressRate > 0) record.set(key(a), limits);
      return result;
    },
    del(a) {
      record.delete(key(a));
    },
    check(a) {
      prev(a);
      const want = bandwidthLimits(a.config);
      const have = record.get(key(a));
      if (want.ingressRate === 0 && want.egressRate === 0) return;
      if (!have || JSON.stringify(have) !== JSON.stringify(want)) {
        throw new CniError(ErrorCode.Internal, `bandwidth limits of ${key(a)} differ from the configuration`);
      }
    },
  };
}

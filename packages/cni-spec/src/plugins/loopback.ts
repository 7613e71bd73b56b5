/**
 * In-process `loopback` reference plugin: brings `lo` up in the container's
 * namespace and reports 127.0.0.1/8 and ::1/128 on it (as the reference
 * plugin does); a chained call passes `prevResult` through.
 */
import { CniError, ErrorCode } from "../errors.js";
import type { CmdArgs, Plugin } from "../plugin.js";
import type { Result } from "../types/convert.js";
import { parseResult } from "../types/convert.js";

/** Where the loopback plugin acts (the simulator wires a netstack namespace here). */
export interface LoopbackDataplane {
  /** Set `lo` up (with its addresses) in the namespace at `netns`. */
  up(netns: string): void | Promise<void>;
  /** Set `lo` down; must not fail when the namespace is gone. */
  down(netns: string): void | Promise<void>;
  /** True when `lo` is up in `netns` (for CHECK). */
  isUp(netns: string): boolean | Promise<boolean>;
}

/** A {@link LoopbackDataplane} that only remembers which namespaces have `lo` up. */
export function recordingLoopback(): LoopbackDataplane & { readonly upIn: Set<string> } {
  const upIn = new Set<string>();
  return {
    upIn,
    up: (ns) => {
      upIn.add(ns);
    },
    down: (ns) => {
      upIn.delete(ns);
    },
    isUp: (ns) => upIn.has(ns),
  };
}

/** The in-process loopback plugin over `dataplane` (default: {@link recordingLoopback}). */
export function loopbackPlugin(dataplane: LoopbackDataplane = recordingLoopback()): Plugin {
  return {
    async add(a: CmdArgs): Promise<Result> {
      await dataplane.up(a.netns);
      if (a.config.prevResult !== undefined && a.config.prevResult !== null) {
        return parseResult(a.config.prevResult as object, a.cniVersion);
      }
      return {
        cniVersion: "1.0.0",
        interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: a.netns }],
        ips: [
          { interface: 0, address: "127.0.0.1/8" },
          { interface: 0, address: "::1/128" },
        ],
      };
    },
    async del(a) {
      if (a.netns !== "") await dataplane.down(a.netns);
    },
    async check(a) {
      if (!(await dataplane.isUp(a.netns))) throw new CniError(ErrorCode.Internal, "loopback interface is down");
    },
  };
}

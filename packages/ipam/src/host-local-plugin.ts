/**
 * host-local as a CNI {@link Plugin} (from `@knet/cni-spec`): usable in-process
 * by a runtime, or as the `knet-host-local` executable through `runPlugin`.
 */
import type { CmdArgs, Plugin, Result } from "@knet/cni-spec";
import { DiskStore } from "./disk-store.js";
import { type Attachment, hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc } from "./host-local.js";
import { type HostLocalConfig, loadHostLocalConfig } from "./host-local-config.js";
import { MemoryStore } from "./memory-store.js";
import type { IpamStore } from "./store.js";

/** Options of {@link hostLocal}. */
export interface HostLocalPluginOptions {
  /**
   * The store for a config; default: a {@link DiskStore} at
   * `<ipam.dataDir>/<name>`. Pass memory stores for a simulation. The plugin
   * calls `close()` after every verb.
   */
  readonly openStore?: (config: HostLocalConfig) => IpamStore;
}

/**
 * An `openStore` for {@link hostLocal} that keeps one {@link MemoryStore} per
 * `<dataDir>/<network>` for the life of the returned function: host-local
 * semantics without touching the disk (simulations, in-process runtimes).
 * The map is exposed so a caller can inspect the stores.
 */
export function memoryStores(): ((config: HostLocalConfig) => IpamStore) & { stores: Map<string, MemoryStore> } {
  const stores = new Map<string, MemoryStore>();
  const open = (config: HostLocalConfig): IpamStore => {
    const key = `${config.dataDir}/${config.name}`;
    let s = stores.get(key);
    if (!s) {
      s = new MemoryStore();
      stores.set(key, s);
    }
    return s;
  };
  return Object.assign(open, { stores });
}

function attachment(args: CmdArgs): Attachment {
  return { containerId: args.containerId, ifname: args.ifName };
}

function withStore<T>(options: HostLocalPluginOptions, config: HostLocalConfig, fn: (s: IpamStore) => T): T {
  const store = options.openStore ? options.openStore(config) : DiskStore.open(config.dataDir, config.name);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function validAttachments(config: Record<string, unknown>): Attachment[] {
  const list = config["cni.dev/valid-attachments"] ?? config["cni.dev/attachments"];
  if (!Array.isArray(list)) return [];
  const out: Attachment[] = [];
  for (const a of list) {
    if (typeof a !== "object" || a === null) continue;
    const o = a as Record<string, unknown>;
    if (typeof o.containerID === "string" && typeof o.ifname === "string") {
      out.push({ containerId: o.containerID, ifname: o.ifname });
    }
  }
  return out;
}

/**
 * The host-local IPAM plugin. ADD/DEL/CHECK behave as the reference host-local
 * (same allocations, store layout and error texts); GC (CNI 1.1) releases the
 * reservations of attachments missing from `cni.dev/valid-attachments`.
 *
 * @example
 * ```ts
 * import { runPlugin } from "@knet/cni-spec";
 * import { hostLocal } from "@knet/ipam";
 * await runPlugin(hostLocal(), "CNI knet-host-local plugin");
 * ```
 */
export function hostLocal(options: HostLocalPluginOptions = {}): Plugin {
  return {
    add(args: CmdArgs): Result {
      const config = loadHostLocalConfig(args.config, args.args);
      return withStore(options, config, (s) => hostLocalAdd(config, attachment(args), s));
    },
    del(args: CmdArgs): void {
      const config = loadHostLocalConfig(args.config, args.args);
      withStore(options, config, (s) => hostLocalDel(config, attachment(args), s));
    },
    check(args: CmdArgs): void {
      const config = loadHostLocalConfig(args.config, args.args);
      withStore(options, config, (s) => hostLocalCheck(config, attachment(args), s));
    },
    gc(args: CmdArgs): void {
      const config = loadHostLocalConfig(args.config, args.args);
      withStore(options, config, (s) => hostLocalGc(validAttachments(args.config as Record<string, unknown>), s));
    },
  };
}

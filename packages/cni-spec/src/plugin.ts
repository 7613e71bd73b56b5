/**
 * The `Plugin` interface: what a CNI plugin implements, whether it runs as an
 * executable (through {@link runPlugin}) or in-process (through the runtime's
 * in-process transport). Both paths go through the same skeleton.
 */
import type { NetConf } from "./config.js";
import type { Result } from "./types/convert.js";

/** What a plugin verb receives: the CNI_* environment and the parsed stdin. */
export interface CmdArgs {
  /** CNI_CONTAINERID ("" when not set, e.g. for STATUS/GC). */
  readonly containerId: string;
  /** CNI_NETNS ("" when not set). */
  readonly netns: string;
  /** CNI_IFNAME ("" when not set). */
  readonly ifName: string;
  /** CNI_ARGS, raw (`K=V;K2=V2`); parse with `loadCniArgs`. */
  readonly args: string;
  /** CNI_PATH, raw (`:`-separated). */
  readonly path: string;
  /** CNI_NETNS_OVERRIDE, raw. */
  readonly netnsOverride: string;
  /** The stdin bytes as text. */
  readonly stdinData: string;
  /** stdin parsed as a JSON object (validated to have a `name`). */
  readonly config: NetConf;
  /** The config's `cniVersion` ("0.1.0" when absent). Results are printed in this version. */
  readonly cniVersion: string;
}

/** A value that may be awaited. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A CNI plugin: one function per verb. `add` returns a result of any version;
 * the skeleton converts it to the config's `cniVersion`. Throw a `CniError` to
 * fail with a specific code; any other thrown value becomes code 999 with its
 * message. `check`, `status` and `gc` are optional: when absent the verb
 * succeeds as a no-op (as libcni's skel does).
 */
export interface Plugin {
  /** ADD: create the attachment, return the result. */
  add(args: CmdArgs): MaybePromise<Result>;
  /** DEL: remove the attachment; must succeed when it is already gone. */
  del(args: CmdArgs): MaybePromise<void>;
  /** CHECK: verify the attachment against `config.prevResult`. */
  check?(args: CmdArgs): MaybePromise<void>;
  /** STATUS (1.1): throw code 50/51 when not ready. */
  status?(args: CmdArgs): MaybePromise<void>;
  /** GC (1.1): release everything not in `config["cni.dev/valid-attachments"]`. */
  gc?(args: CmdArgs): MaybePromise<void>;
}

/** Describes a plugin: the "about" text printed when run without CNI_COMMAND, and its versions. */
export interface PluginAbout {
  /** One line, e.g. `CNI loopback plugin v1.0.0`. */
  readonly about?: string;
  /** The spec versions the plugin accepts (default: all, 0.1.0 ... 1.1.0). */
  readonly supportedVersions?: readonly string[];
}

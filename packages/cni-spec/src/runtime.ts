/**
 * `CniRuntime`: what a container runtime does with a configuration list, as
 * libcni's `CNIConfig` does it: ADD through the chain with prevResult, cache the
 * final result, CHECK and DEL (in reverse) with the cached result, STATUS, and
 * GC of attachments that are no longer valid.
 */
import { formatCniArgs } from "./args.js";
import {
  CACHE_KIND,
  type CachedAttachment,
  type CacheFs,
  cacheFilePath,
  decodeCacheEntry,
  encodeCacheEntry,
  nodeCacheFs,
} from "./cache.js";
import type { LoadedNetConfList, NetConf, NetConfList } from "./config.js";
import { CniError, ErrorCode, isErrorResult } from "./errors.js";
import type { Exec, ExecOutcome } from "./exec.js";
import { convertResult, parseResult, type Result } from "./types/convert.js";
import { validateContainerId, validateInterfaceName, validateNetworkName, validatePluginType } from "./validate.js";
import { decodeVersionInfo, type VersionInfo, versionAtLeast } from "./version.js";

/** libcni's default cache directory. */
export const DEFAULT_CACHE_DIR = "/var/lib/cni";

/** Per-attachment parameters (libcni's `RuntimeConf`). */
export interface RuntimeConf {
  /** CNI_CONTAINERID. */
  readonly containerId: string;
  /** CNI_NETNS (may be "" for DEL when the namespace is gone). */
  readonly netns: string;
  /** CNI_IFNAME. */
  readonly ifName: string;
  /** CNI_ARGS pairs. */
  readonly args?: readonly (readonly [string, string])[];
  /**
   * Capability arguments (`portMappings`, `bandwidth`, `ips`, `mac`, `ipRanges`,
   * `dns`, ...): each goes into a plugin's `runtimeConfig` only when that plugin
   * declares the capability `true`.
   */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

/** A (containerID, ifname) pair that GC must keep. */
export interface GCAttachment {
  /** Container id. */
  readonly containerID: string;
  /** Interface name. */
  readonly ifname: string;
}

/** Options of {@link CniRuntime}. */
export interface CniRuntimeOptions {
  /** How plugins are run (executables, in-process, or both). */
  readonly exec: Exec;
  /** Plugin search path; also passed as CNI_PATH (default `["/opt/cni/bin"]`). */
  readonly path?: readonly string[];
  /** Result cache directory (default `/var/lib/cni`). */
  readonly cacheDir?: string;
  /** File operations for the cache (default: the real file system). */
  readonly fs?: CacheFs;
}

/**
 * An error from one plugin of a chain: the plugin's own error (code, msg,
 * details) plus which plugin failed, for which verb, its exit status and
 * what it printed on stderr.
 */
export class PluginError extends CniError {
  /** The plugin's `type`. */
  readonly plugin: string;
  /** The verb (ADD, DEL, ...). */
  readonly command: string;
  /** Exit status (-1 when killed). */
  readonly exitCode: number;
  /** Everything the plugin wrote on stderr. */
  readonly stderr: string;

  constructor(plugin: string, command: string, cause: CniError, exitCode: number, stderr: string) {
    super(cause.code, cause.msg, cause.details, cause.field);
    this.message = `plugin type=${JSON.stringify(plugin)} failed (${command.toLowerCase()}): ${cause.message}${
      stderr.trim() ? ` [stderr: ${stderr.trim().split("\n").slice(-3).join(" | ")}]` : ""
    }`;
    this.plugin = plugin;
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/**
 * A configuration list as the runtime takes it: a parsed {@link NetConfList},
 * optionally with the negotiated version and original bytes that
 * `parseNetConfList` adds (without them, `cniVersion` is used and the list is
 * re-serialised for the cache).
 */
export type NetConfListInput = NetConfList & Partial<Pick<LoadedNetConfList, "effectiveVersion" | "bytes">>;

const listVersion = (list: NetConfListInput): string => list.effectiveVersion ?? (list.cniVersion || "0.1.0");

/** A libcni-like runtime. Stateless apart from the result cache on disk. */
export class CniRuntime {
  /** The plugin search path. */
  readonly path: readonly string[];
  /** The cache directory. */
  readonly cacheDir: string;
  private readonly exec: Exec;
  private readonly fs: CacheFs;

  constructor(options: CniRuntimeOptions) {
    this.exec = options.exec;
    this.path = options.path ?? ["/opt/cni/bin"];
    this.cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
    this.fs = options.fs ?? nodeCacheFs;
  }

  /** The stdin config for one plugin: the plugin object plus the injected keys. */
  buildPluginConfig(
    list: NetConfListInput,
    plugin: NetConf,
    prevResult: Result | undefined,
    rt?: RuntimeConf,
  ): NetConf {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: listVersion(list) };
    if (prevResult !== undefined) conf.prevResult = prevResult;
    if (rt?.capabilityArgs) {
      const rc: Record<string, unknown> = {};
      for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
        if (on && Object.hasOwn(rt.capabilityArgs, cap)) rc[cap] = rt.capabilityArgs[cap];
      }
      if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
    }
    return conf as NetConf;
  }

  private env(command: string, rt?: RuntimeConf): Record<string, string> {
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt?.containerId ?? "",
      CNI_NETNS: rt?.netns ?? "",
      CNI_ARGS: rt?.args ? formatCniArgs(rt.args) : "",
      CNI_IFNAME: rt?.ifName ?? "",
      CNI_PATH: this.path.join(":"),
    };
  }

  /** Run one plugin and turn a failure into a {@link PluginError}. */
  private async invoke(command: string, plugin: NetConf, conf: NetConf, rt?: RuntimeConf): Promise<string> {
    validatePluginType(plugin.type);
    let out: ExecOutcome;
    try {
      out = await this.exec.run(plugin.type, {
        env: this.env(command, rt),
        stdin: JSON.stringify(conf),
        path: this.path,
      });
    } catch (e) {
      throw new PluginError(plugin.type, command, CniError.from(e), -1, "");
    }
    if (out.timedOut) {
      throw new PluginError(
        plugin.type,
        command,
        new CniError(ErrorCode.Internal, `plugin ${out.location ?? plugin.type} timed out and was killed`),
        out.exitCode,
        out.stderr,
      );
    }
    if (out.exitCode !== 0) throw new PluginError(plugin.type, command, pluginFailure(out), out.exitCode, out.stderr);
    return out.stdout;
  }

  private checkRt(list: NetConfListInput, rt: RuntimeConf): void {
    validateContainerId(rt.containerId);
    validateNetworkName(list.name);
    validateInterfaceName(rt.ifName);
  }

  /**
   * ADD the attachment through every plugin in order, each getting the
   * previous result; cache and return the final result (in the list's version).
   * On failure nothing is undone: the caller must run DEL (spec lifecycle).
   */
  async addNetworkList(list: NetConfListInput, rt: RuntimeConf): Promise<Result> {
    const version = listVersion(list);
    let prev: Result | undefined;
    for (const plugin of list.plugins) {
      this.checkRt(list, rt);
      const conf = this.buildPluginConfig(list, plugin, prev, rt);
      const stdout = await this.invoke("ADD", plugin, conf, rt);
      try {
        prev = convertResult(parseResult(stdout, version), version).result;
      } catch (e) {
        throw new PluginError(plugin.type, "ADD", CniError.from(e), 0, "");
      }
    }
    if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, "plugins: empty plugin list", "", "plugins");
    await this.cacheAdd(list, rt, prev);
    return prev;
  }

  /**
   * CHECK every plugin in order with the cached result as prevResult. A no-op
   * when the list has `disableCheck`; an error for lists older than 0.4.0.
   */
  async checkNetworkList(list: NetConfListInput, rt: RuntimeConf): Promise<void> {
    const version = listVersion(list);
    if (!versionAtLeast(version, "0.4.0")) {
      throw new CniError(
        ErrorCode.IncompatibleCniVersion,
        `configuration version ${JSON.stringify(version)} does not support the CHECK command`,
      );
    }
    if (list.disableCheck) return;
    const cached = await this.getCachedResult(list, rt);
    if (!cached) {
      throw new CniError(
        ErrorCode.UnknownContainer,
        `no cached result for network ${JSON.stringify(list.name)} container ${JSON.stringify(rt.containerId)} interface ${JSON.stringify(rt.ifName)} (was it added?)`,
      );
    }
    for (const plugin of list.plugins) {
      this.checkRt(list, rt);
      await this.invoke("CHECK", plugin, this.buildPluginConfig(list, plugin, cached, rt), rt);
    }
  }

  /**
   * DEL through the plugins in reverse order, with the cached result as
   * prevResult (lists >= 0.4.0); remove the cache entry on success. Succeeds
   * again for an attachment that is already gone (if the plugins do).
   */
  async delNetworkList(list: NetConfListInput, rt: RuntimeConf): Promise<void> {
    const version = listVersion(list);
    let cached: Result | undefined;
    if (versionAtLeast(version, "0.4.0")) {
      try {
        cached = await this.getCachedResult(list, rt);
      } catch {
        await this.cacheDel(list.name, rt).catch(() => undefined);
        cached = undefined;
      }
    }
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const plugin = list.plugins[i] as NetConf;
      this.checkRt(list, rt);
      await this.invoke("DEL", plugin, this.buildPluginConfig(list, plugin, cached, rt), rt);
    }
    // As libcni: once every plugin has deleted, the DEL succeeds even if the cache entry cannot
    // be removed (a failure here would make every retried DEL fail the same way).
    await this.cacheDel(list.name, rt).catch(() => undefined);
  }

  /**
   * STATUS of every plugin in order (lists >= 1.1.0; older lists succeed).
   * Rejects with the first plugin's error (code 50/51 when not available).
   */
  async statusNetworkList(list: NetConfListInput): Promise<void> {
    if (!versionAtLeast(listVersion(list), "1.1.0")) return;
    for (const plugin of list.plugins) {
      const conf = { ...plugin, name: list.name, cniVersion: listVersion(list) } as NetConf;
      await this.invoke("STATUS", plugin, conf);
    }
  }

  /**
   * GC: DEL every cached attachment of this network that is not in `valid`
   * (with its cached arguments), then (lists >= 1.1.0) send GC to every plugin
   * with `cni.dev/valid-attachments` (and the legacy `cni.dev/attachments`).
   * A no-op when the list has `disableGC`. Errors are collected and reported
   * together at the end.
   */
  async gcNetworkList(list: NetConfListInput, valid?: readonly GCAttachment[]): Promise<void> {
    if (list.disableGC) return;
    const errors: string[] = [];
    const keep = new Set((valid ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    for (const att of await this.getCachedAttachments()) {
      if (att.networkName !== list.name || keep.has(`${att.containerId}\0${att.ifName}`)) continue;
      const rt: RuntimeConf = {
        containerId: att.containerId,
        netns: att.netns ?? "",
        ifName: att.ifName,
        ...(att.cniArgs ? { args: att.cniArgs } : {}),
        ...(att.capabilityArgs ? { capabilityArgs: att.capabilityArgs } : {}),
      };
      try {
        await this.delNetworkList(list, rt);
      } catch (e) {
        errors.push(`failed to delete stale attachment ${att.containerId} ${att.ifName}: ${(e as Error).message}`);
      }
    }
    if (versionAtLeast(listVersion(list), "1.1.0")) {
      for (const plugin of list.plugins) {
        const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: listVersion(list) };
        if (valid) {
          conf["cni.dev/valid-attachments"] = valid;
          conf["cni.dev/attachments"] = valid;
        }
        try {
          await this.invoke("GC", plugin, conf as NetConf);
        } catch (e) {
          errors.push(`failed to GC plugin ${plugin.type}: ${(e as Error).message}`);
        }
      }
    }
    if (errors.length > 0) throw new CniError(ErrorCode.Internal, errors.join("; "));
  }

  /** VERSION of one plugin (libcni's `GetVersionInfo`). */
  async getVersionInfo(type: string): Promise<VersionInfo> {
    const stdout = await this.invoke("VERSION", { type }, { type, cniVersion: "1.1.0" } as NetConf, {
      containerId: "dummy",
      netns: "dummy",
      ifName: "dummy",
    }).catch((e: unknown) => {
      if (e instanceof PluginError && e.msg.startsWith("unknown CNI_COMMAND: VERSION")) {
        return JSON.stringify({ cniVersion: "0.1.0", supportedVersions: ["0.1.0"] });
      }
      throw e;
    });
    return decodeVersionInfo(stdout);
  }

  /**
   * libcni's `ValidateNetworkList`: every plugin must support the list's
   * version (by VERSION); returns the union of the capabilities they enable.
   * @throws {@link CniError} code 1 naming the plugin that does not support the version.
   */
  async validateNetworkList(list: NetConfListInput): Promise<string[]> {
    const version = listVersion(list);
    const caps = new Set<string>();
    for (const [i, plugin] of list.plugins.entries()) {
      const info = await this.getVersionInfo(plugin.type);
      if (!info.supportedVersions.includes(version)) {
        throw new CniError(
          ErrorCode.IncompatibleCniVersion,
          `plugin type=${JSON.stringify(plugin.type)} does not support config version ${JSON.stringify(version)}`,
          "",
          `plugins[${i}]`,
        );
      }
      for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) if (on) caps.add(cap);
    }
    return [...caps].sort();
  }

  /** The cached final ADD result of an attachment, converted to the list's version (undefined when none). */
  async getCachedResult(list: NetConfListInput, rt: RuntimeConf): Promise<Result | undefined> {
    const file = cacheFilePath(this.cacheDir, list.name, rt.containerId, rt.ifName);
    let text: string;
    try {
      text = await this.fs.readFile(file);
    } catch {
      return undefined;
    }
    const entry = decodeCacheEntry(text);
    const raw = entry ? entry.result : JSON.parse(text);
    if (raw === undefined) return undefined;
    const version = listVersion(list);
    return convertResult(parseResult(raw as object, version), version).result;
  }

  /** Every readable `cniCacheV1` entry under `<cacheDir>/results`. */
  async getCachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    const dir = `${this.cacheDir}/results`;
    const out: CachedAttachment[] = [];
    for (const name of (await this.fs.readdir(dir)).sort()) {
      let entry: CachedAttachment | undefined;
      try {
        entry = decodeCacheEntry(await this.fs.readFile(`${dir}/${name}`));
      } catch {
        continue;
      }
      if (!entry || entry.ifName === "" || entry.networkName === "") continue;
      if (containerId && entry.containerId !== containerId) continue;
      out.push(entry);
    }
    return out;
  }

  private async cacheAdd(list: NetConfListInput, rt: RuntimeConf, result: Result): Promise<void> {
    const bytes = list.bytes ?? JSON.stringify(list);
    const entry: CachedAttachment = {
      kind: CACHE_KIND,
      containerId: rt.containerId,
      config: Buffer.from(bytes, "utf8").toString("base64"),
      ifName: rt.ifName,
      networkName: list.name,
      netns: rt.netns,
      ...(rt.args ? { cniArgs: rt.args } : {}),
      ...(rt.capabilityArgs ? { capabilityArgs: rt.capabilityArgs } : {}),
      result,
    };
    const file = cacheFilePath(this.cacheDir, list.name, rt.containerId, rt.ifName);
    await this.fs.writeFile(file, encodeCacheEntry(entry), 0o600, 0o700);
  }

  private async cacheDel(network: string, rt: RuntimeConf): Promise<void> {
    await this.fs.remove(cacheFilePath(this.cacheDir, network, rt.containerId, rt.ifName));
  }
}

/** libcni's reading of a failed plugin: the error JSON on stdout, else stderr. */
function pluginFailure(out: ExecOutcome): CniError {
  const text = out.stdout.trim();
  if (text === "") {
    return new CniError(ErrorCode.Internal, `netplugin failed: ${JSON.stringify(out.stderr.trim())}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (isErrorResult(v)) return CniError.fromJSON(v);
  } catch {
    // fall through
  }
  return new CniError(
    ErrorCode.Internal,
    `netplugin failed but error parsing its diagnostic message ${JSON.stringify(text)}`,
  );
}

/**
 * Transports that run a plugin for the runtime. One `Exec` interface, three
 * implementations: real executables found on the search path
 * ({@link executableExec}), in-process TypeScript plugins ({@link inProcessExec}),
 * and a combination that prefers in-process plugins ({@link chainExec}).
 */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { CniError, ErrorCode } from "./errors.js";
import type { Plugin, PluginAbout } from "./plugin.js";
import { dispatch } from "./skel.js";
import { validatePluginType } from "./validate.js";
import { goQuoteList } from "./version.js";

/** One plugin invocation as the runtime asks for it. */
export interface ExecRequest {
  /** The CNI_* variables (all six are set by the runtime, possibly empty). */
  readonly env: Readonly<Record<string, string>>;
  /** The config JSON for stdin. */
  readonly stdin: string;
  /** The plugin search path (also what CNI_PATH says). */
  readonly path: readonly string[];
}

/** What a plugin produced. */
export interface ExecOutcome {
  /** Exit status (-1 when killed). */
  readonly exitCode: number;
  /** Everything printed on stdout. */
  readonly stdout: string;
  /** Everything printed on stderr. */
  readonly stderr: string;
  /** True when the plugin was killed at the timeout. */
  readonly timedOut?: boolean;
  /** Where the plugin was found (for messages). */
  readonly location?: string;
}

/** Runs plugins by their config `type`. */
export interface Exec {
  /**
   * Run plugin `type`. Resolves to its outcome whatever the exit status;
   * rejects only when the plugin cannot be found or started (a `CniError`).
   */
  run(type: string, request: ExecRequest): Promise<ExecOutcome>;
  /** True when this transport can run `type` with the search path `path`. */
  has(type: string, path: readonly string[]): Promise<boolean>;
}

/** The PATH given to executable plugins (they call iptables, ip, ...). */
export const DEFAULT_PLUGIN_ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * libcni's `FindInPath`: the first `dir/<type>` that is a regular file
 * (symlinks followed), in search-path order. `type` must be a bare name.
 * @throws {@link CniError} code 7 for a `type` with `/` or `..`; a CniError
 * `failed to find plugin "x" in path [...]` when it is nowhere.
 */
export async function findInPath(type: string, path: readonly string[]): Promise<string> {
  validatePluginType(type);
  if (path.length === 0)
    throw new CniError(ErrorCode.Internal, `no paths provided to find plugin ${JSON.stringify(type)}`);
  for (const dir of path) {
    if (dir === "") continue;
    const candidate = join(dir, type);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(ErrorCode.Internal, `failed to find plugin ${JSON.stringify(type)} in path ${goQuoteList(path)}`);
}

/** Options of {@link executableExec}. */
export interface ExecutableExecOptions {
  /** Kill a plugin that runs longer than this (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** PATH for the plugin's environment (default {@link DEFAULT_PLUGIN_ENV_PATH}). */
  readonly envPath?: string;
  /** Extra variables passed to every plugin (nothing else of the runtime's environment is). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /**
   * A fixed command to run plugins under, e.g. `["ip", "netns", "exec", "host1"]`
   * so they run in a stand-in host namespace. Given by the caller, never by a config.
   */
  readonly prefix?: readonly string[];
}

/**
 * Runs plugins as executables: found only on the request's search path,
 * spawned without a shell, with a clean environment (PATH plus the CNI_*
 * variables plus `extraEnv`), stdin = the config, stdout/stderr captured, and
 * killed (SIGKILL) at the timeout.
 */
export function executableExec(options: ExecutableExecOptions = {}): Exec {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    async has(type, path) {
      try {
        await findInPath(type, path);
        return true;
      } catch {
        return false;
      }
    },
    async run(type, request) {
      const location = await findInPath(type, request.path);
      const env = { PATH: options.envPath ?? DEFAULT_PLUGIN_ENV_PATH, ...options.extraEnv, ...request.env };
      const argv = [...(options.prefix ?? []), location];
      const [cmd, ...args] = argv as [string, ...string[]];
      return await new Promise<ExecOutcome>((resolve, reject) => {
        // detached: the plugin leads its own process group, so a timeout kills
        // whatever it started too (a shell plugin's `sleep` keeps our pipes open).
        const child = spawn(cmd, args, { env, shell: false, detached: true, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          try {
            if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
          } catch {
            child.kill("SIGKILL");
          }
        }, timeoutMs);
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.stderr.on("data", (c: Buffer) => err.push(c));
        child.stdin.on("error", () => {
          // the plugin may exit without reading stdin (EPIPE)
        });
        child.on("error", (e) => {
          clearTimeout(timer);
          reject(new CniError(ErrorCode.Internal, `cannot run plugin ${location}: ${e.message}`));
        });
        child.on("exit", () => {
          // after a timeout do not wait for grandchildren holding the pipes
          if (timedOut) {
            child.stdout.destroy();
            child.stderr.destroy();
          }
        });
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          resolve({
            exitCode: code ?? (signal ? -1 : 0),
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(err).toString("utf8"),
            timedOut,
            location,
          });
        });
        child.stdin.end(request.stdin);
      });
    },
  };
}

/** An in-process plugin and its description. */
export interface InProcessPlugin {
  /** The plugin's verbs. */
  readonly plugin: Plugin;
  /** About text and supported versions (default: all versions). */
  readonly about?: PluginAbout;
}

/**
 * Runs TypeScript plugins in this process through the same skeleton as an
 * executable (same env checks, version gate, JSON in and out), so a config
 * behaves the same with either transport.
 */
export function inProcessExec(plugins: Readonly<Record<string, Plugin | InProcessPlugin>>): Exec {
  const lookup = (type: string): InProcessPlugin | undefined => {
    if (!Object.hasOwn(plugins, type)) return undefined;
    const p = plugins[type] as Plugin | InProcessPlugin;
    return "plugin" in p ? p : { plugin: p };
  };
  return {
    async has(type) {
      return lookup(type) !== undefined;
    },
    async run(type, request) {
      validatePluginType(type);
      const p = lookup(type);
      if (!p) throw new CniError(ErrorCode.Internal, `failed to find plugin ${JSON.stringify(type)} in process`);
      const out = await dispatch(p.plugin, p.about ?? {}, request.env, request.stdin);
      return { ...out, location: `in-process:${type}` };
    },
  };
}

/** Tries each transport in order and runs the plugin on the first that has it. */
export function chainExec(...execs: readonly Exec[]): Exec {
  return {
    async has(type, path) {
      for (const e of execs) if (await e.has(type, path)) return true;
      return false;
    },
    async run(type, request) {
      validatePluginType(type);
      for (const e of execs) if (await e.has(type, request.path)) return await e.run(type, request);
      throw new CniError(
        ErrorCode.Internal,
        `failed to find plugin ${JSON.stringify(type)} in path ${goQuoteList(request.path)}`,
      );
    },
  };
}

/**
 * The plugin skeleton (libcni's `pkg/skel`): read CNI_* variables and stdin,
 * validate them in the reference order, dispatch the verb, print the result or
 * the error JSON and pick the exit code. `dispatch` is the pure core used by
 * both {@link runPlugin} (executables) and the runtime's in-process transport.
 */
import { readFileSync, writeSync } from "node:fs";
import type { NetConf } from "./config.js";
import { CniError, ErrorCode } from "./errors.js";
import type { CmdArgs, Plugin, PluginAbout } from "./plugin.js";
import { convertResult, parseResult } from "./types/convert.js";
import { validateContainerId, validateInterfaceName, validateNetworkName } from "./validate.js";
import { checkVersionSupported, SPEC_VERSIONS, versionAtLeast, versionInfo } from "./version.js";

/** What one plugin invocation produced. */
export interface SkelOutcome {
  /** Process exit code: 0 on success, 1 on error. */
  readonly exitCode: number;
  /** Result, VERSION or error JSON ("" for DEL/CHECK/STATUS/GC success). */
  readonly stdout: string;
  /** Free-form text (the about text when CNI_COMMAND is unset). */
  readonly stderr: string;
}

/** Environment lookup (process.env or a plain object). */
export type Env = Readonly<Record<string, string | undefined>>;

type Verb = "ADD" | "CHECK" | "DEL" | "GC" | "STATUS" | "VERSION";

/** Which variables each verb requires (libcni skel, main branch). */
const REQUIRED: Record<string, readonly string[]> = {
  ADD: ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  GC: ["CNI_COMMAND", "CNI_PATH"],
  STATUS: ["CNI_COMMAND", "CNI_PATH"],
};
const ORDER = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"];

function normalizeAbout(about: string | PluginAbout): { about: string; supported: readonly string[] } {
  if (typeof about === "string") return { about, supported: SPEC_VERSIONS };
  return { about: about.about ?? "", supported: about.supportedVersions ?? SPEC_VERSIONS };
}

const pretty = (v: unknown): string => JSON.stringify(v, null, 4);

/**
 * Run one plugin invocation without touching the process: `env` holds the
 * CNI_* variables, `stdin` the config (read only when the verb needs it).
 * Never throws: every failure becomes an error outcome with the spec's code.
 */
export async function dispatch(
  plugin: Plugin,
  about: string | PluginAbout,
  env: Env,
  stdin: string | (() => Promise<string>),
): Promise<SkelOutcome> {
  const info = normalizeAbout(about);
  let version: string | undefined;
  try {
    const cmd = env.CNI_COMMAND ?? "";
    const required = REQUIRED[cmd] ?? ["CNI_COMMAND"];
    const missing: string[] = [];
    for (const name of ORDER) {
      if (!required.includes(name)) continue;
      const value = env[name] ?? "";
      if (value === "") missing.push(name);
      else if (name === "CNI_CONTAINERID") validateContainerId(value);
      else if (name === "CNI_IFNAME") validateInterfaceName(value);
    }
    if (missing.length > 0) {
      if (cmd === "" && info.about !== "") {
        return {
          exitCode: 0,
          stdout: "",
          stderr: `${info.about}\nCNI protocol versions supported: ${info.supported.join(", ")}\n`,
        };
      }
      throw new CniError(
        ErrorCode.InvalidEnvironmentVariables,
        `required env variables [${missing.join(",")}] missing`,
        "",
        missing.join(","),
      );
    }
    if (cmd === "VERSION") {
      return { exitCode: 0, stdout: `${JSON.stringify(versionInfo(info.supported))}\n`, stderr: "" };
    }
    if (!(cmd in REQUIRED)) {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${cmd}`, "", "CNI_COMMAND");
    }
    let stdinData: string;
    try {
      stdinData = typeof stdin === "string" ? stdin : await stdin();
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(e as Error).message}`);
    }
    const config = decodeConfig(stdinData);
    const cniVersion = typeof config.cniVersion === "string" && config.cniVersion !== "" ? config.cniVersion : "0.1.0";
    version = cniVersion;
    const args: CmdArgs = {
      containerId: env.CNI_CONTAINERID ?? "",
      netns: env.CNI_NETNS ?? "",
      ifName: env.CNI_IFNAME ?? "",
      args: env.CNI_ARGS ?? "",
      path: env.CNI_PATH ?? "",
      netnsOverride: env.CNI_NETNS_OVERRIDE ?? "",
      stdinData,
      config,
      cniVersion,
    };
    return await runVerb(cmd as Verb, plugin, info.supported, args);
  } catch (e) {
    const err = CniError.from(e);
    return { exitCode: 1, stdout: `${pretty(err.toJSON(version))}\n`, stderr: "" };
  }
}

function decodeConfig(stdinData: string): NetConf {
  let v: unknown;
  try {
    v = JSON.parse(stdinData);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config: not a JSON object");
  }
  const o = v as Record<string, unknown>;
  if (o.name !== undefined && typeof o.name !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config: name must be a string", "", "name");
  }
  if (o.cniVersion !== undefined && typeof o.cniVersion !== "string") {
    throw new CniError(
      ErrorCode.DecodingFailure,
      "error unmarshall network config: cniVersion must be a string",
      "",
      "cniVersion",
    );
  }
  validateNetworkName((o.name as string | undefined) ?? "");
  return o as NetConf;
}

async function runVerb(cmd: Verb, plugin: Plugin, supported: readonly string[], args: CmdArgs): Promise<SkelOutcome> {
  const ok = (stdout = ""): SkelOutcome => ({ exitCode: 0, stdout, stderr: "" });
  const gate = (min: string | undefined): void => {
    if (min !== undefined && !versionAtLeast(args.cniVersion, min)) {
      throw new CniError(ErrorCode.IncompatibleCniVersion, `config version does not allow ${cmd}`);
    }
    checkVersionSupported(args.cniVersion, supported);
  };
  switch (cmd) {
    case "ADD": {
      gate(undefined);
      const raw = await plugin.add(args);
      const parsed = parseResult(raw, args.cniVersion);
      const { result } = convertResult(parsed, args.cniVersion);
      return ok(`${pretty(result)}\n`);
    }
    case "DEL":
      gate(undefined);
      await plugin.del(args);
      return ok();
    case "CHECK":
      gate("0.4.0");
      await plugin.check?.(args);
      return ok();
    case "STATUS":
      gate("1.1.0");
      await plugin.status?.(args);
      return ok();
    case "GC":
      gate("1.1.0");
      await plugin.gc?.(args);
      return ok();
    default:
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${cmd}`);
  }
}

/** Where {@link runPlugin} reads and writes; defaults to the process. */
export interface SkelIo {
  /** CNI_* lookup (default `process.env`). */
  readonly env?: Env;
  /** Read all of stdin (default: the process's stdin). */
  readonly readStdin?: () => Promise<string>;
  /** Write to stdout (default: process.stdout, awaited until flushed). */
  readonly writeStdout?: (text: string) => Promise<void>;
  /** Write to stderr. */
  readonly writeStderr?: (text: string) => Promise<void>;
}

/**
 * Stdin read with plain reads of fd 0 (a plugin is started per pod event, and the stream
 * machinery of `process.stdin` costs a noticeable part of its start-up); a non-blocking
 * descriptor falls back to the stream.
 */
async function readProcessStdin(): Promise<string> {
  try {
    return readFileSync(0, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No stdin at all reads as empty input (the config check then says what is missing).
    if (code === "EBADF") return "";
    if (code !== "EAGAIN") throw e;
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Write all of `text` to `fd` with plain writes; the stream only when the descriptor is non-blocking and full. */
function writeTo(fd: number, stream: () => NodeJS.WritableStream): (text: string) => Promise<void> {
  return (text) => {
    const buf = Buffer.from(text, "utf8");
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      return Promise.resolve();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return Promise.reject(e);
    }
    return new Promise((resolve) => {
      stream().write(buf.subarray(off), () => resolve());
    });
  };
}

/**
 * A plugin executable's `main`: run `plugin` for the CNI_* variables and stdin
 * of this process, print the result or error JSON, and set
 * `process.exitCode` (0 or 1). Resolves to the exit code; never throws and
 * never prints a stack trace.
 *
 * @example
 * ```ts
 * #!/usr/bin/env node
 * import { runPlugin } from "@knet/cni-spec";
 * await runPlugin({ add: (a) => ({ cniVersion: a.cniVersion, ips: [] }), del() {} }, "CNI example plugin");
 * ```
 */
export async function runPlugin(plugin: Plugin, about: string | PluginAbout, io: SkelIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = await dispatch(plugin, about, env, io.readStdin ?? readProcessStdin);
  await (io.writeStdout ?? writeTo(1, () => process.stdout))(out.stdout);
  await (io.writeStderr ?? writeTo(2, () => process.stderr))(out.stderr);
  if (!io.env) process.exitCode = out.exitCode;
  return out.exitCode;
}

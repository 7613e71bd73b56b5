import { readFile } from "node:fs/promises";
import {
  CniError,
  CniRuntime,
  DEFAULT_CACHE_DIR,
  executableExec,
  type GCAttachment,
  type LoadedNetConfList,
  parseCniArgs,
  parseNetworkConfig,
  type RuntimeConf,
} from "@knet/cni-spec";
import { CliError, type CommandFamily, parseFlags } from "../cli.js";

const USAGE = `Usage: knet cni <add|check|del|status|gc> --conflist FILE [flags]

Run a CNI configuration list the way a container runtime does (a cnitool
equivalent): plugins are executables found on the plugin path, results are
cached in libcni's format under <cache-dir>/results.

  add     ADD the attachment through every plugin; prints the result JSON
  check   CHECK the attachment against the cached result
  del     DEL through the plugins in reverse order (repeatable)
  status  STATUS of every plugin (lists of version 1.1.0 and later)
  gc      DEL cached attachments not listed in --valid, then GC every plugin

Flags:
  --conflist FILE        network configuration list (.conflist, or a single .conf)
  --netns PATH           container network namespace (add, check; optional for del)
  --container-id ID      container id (add, check, del)
  --ifname NAME          interface name in the container (default eth0)
  --plugin-path DIRS     ':'-separated plugin search path (default $CNI_PATH or /opt/cni/bin)
  --cache-dir DIR        result cache directory (default ${DEFAULT_CACHE_DIR})
  --cni-args ARGS        CNI_ARGS, e.g. 'IgnoreUnknown=1;K8S_POD_NAME=web'
  --capability-args JSON capability arguments, e.g. '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}'
  --valid LIST           gc: attachments to keep, 'CID/IFNAME,CID/IFNAME'
  --timeout MS           kill a plugin that runs longer (default 30000)
`;

const FLAGS = {
  conflist: { type: "string" },
  netns: { type: "string" },
  "container-id": { type: "string" },
  ifname: { type: "string" },
  "plugin-path": { type: "string" },
  "cache-dir": { type: "string" },
  "cni-args": { type: "string" },
  "capability-args": { type: "string" },
  valid: { type: "string" },
  timeout: { type: "string" },
} as const;

const VERBS = ["add", "check", "del", "status", "gc"] as const;
type Verb = (typeof VERBS)[number];

/** `knet cni`: run CNI configuration lists against real plugin executables. */
export const cniCommand: CommandFamily = {
  name: "cni",
  summary: "run a CNI conflist (add/check/del/status/gc) like a container runtime",
  usage: USAGE,
  async run(argv, io) {
    const [verbArg, ...rest] = argv;
    if (verbArg === undefined)
      throw new CliError("cni: missing subcommand (add|check|del|status|gc); see 'knet cni --help'", 2);
    if (!(VERBS as readonly string[]).includes(verbArg)) {
      throw new CliError(`cni: unknown subcommand '${verbArg}' (add|check|del|status|gc); see 'knet cni --help'`, 2);
    }
    const verb = verbArg as Verb;
    const { values, positionals } = parseFlags(rest, FLAGS, "cni");
    if (positionals.length > 0) throw new CliError(`cni ${verb}: unexpected argument '${positionals[0]}'`, 2);
    if (!values.conflist) throw new CliError(`cni ${verb}: --conflist is required`, 2);

    let text: string;
    try {
      text = await readFile(values.conflist, "utf8");
    } catch (e) {
      throw new CliError(
        `cni ${verb}: cannot read ${values.conflist}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    let list: LoadedNetConfList;
    try {
      list = parseNetworkConfig(text);
    } catch (e) {
      throw new CliError(`cni ${verb}: ${values.conflist}: ${(e as Error).message}`);
    }

    let timeoutMs = 30_000;
    if (values.timeout !== undefined) {
      timeoutMs = Number(values.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new CliError(`cni ${verb}: --timeout must be a positive integer (milliseconds)`, 2);
      }
    }
    const pathText = values["plugin-path"] ?? process.env.CNI_PATH ?? "/opt/cni/bin";
    const runtime = new CniRuntime({
      exec: executableExec({ timeoutMs }),
      path: pathText.split(":").filter((d) => d !== ""),
      cacheDir: values["cache-dir"] ?? DEFAULT_CACHE_DIR,
    });

    const needsAttachment = verb === "add" || verb === "check" || verb === "del";
    let rt: RuntimeConf | undefined;
    if (needsAttachment) {
      const containerId = values["container-id"];
      if (!containerId) throw new CliError(`cni ${verb}: --container-id is required`, 2);
      if (!values.netns && verb !== "del") throw new CliError(`cni ${verb}: --netns is required`, 2);
      let args: [string, string][] | undefined;
      if (values["cni-args"] !== undefined) {
        try {
          args = parseCniArgs(values["cni-args"]);
        } catch (e) {
          throw new CliError(`cni ${verb}: --cni-args: ${(e as Error).message}`, 2);
        }
      }
      let capabilityArgs: Record<string, unknown> | undefined;
      if (values["capability-args"] !== undefined) {
        try {
          capabilityArgs = JSON.parse(values["capability-args"]) as Record<string, unknown>;
        } catch (e) {
          throw new CliError(`cni ${verb}: --capability-args is not JSON: ${(e as Error).message}`, 2);
        }
        if (typeof capabilityArgs !== "object" || capabilityArgs === null || Array.isArray(capabilityArgs)) {
          throw new CliError(`cni ${verb}: --capability-args must be a JSON object`, 2);
        }
      }
      rt = {
        containerId,
        netns: values.netns ?? "",
        ifName: values.ifname ?? "eth0",
        ...(args ? { args } : {}),
        ...(capabilityArgs ? { capabilityArgs } : {}),
      };
    }

    try {
      switch (verb) {
        case "add": {
          const result = await runtime.addNetworkList(list, rt as RuntimeConf);
          io.out(`${JSON.stringify(result, null, 4)}\n`);
          break;
        }
        case "check":
          await runtime.checkNetworkList(list, rt as RuntimeConf);
          break;
        case "del":
          await runtime.delNetworkList(list, rt as RuntimeConf);
          break;
        case "status":
          await runtime.statusNetworkList(list);
          break;
        case "gc":
          await runtime.gcNetworkList(list, parseValid(values.valid));
          break;
      }
    } catch (e) {
      if (e instanceof CniError) {
        throw new CliError(`cni ${verb}: ${e.message} (CNI error code ${e.code})`);
      }
      throw e;
    }
    return 0;
  },
};

function parseValid(text: string | undefined): GCAttachment[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(",")
    .filter((s) => s !== "")
    .map((s) => {
      const [containerID, ifname = "eth0", extra] = s.split("/");
      if (!containerID || extra !== undefined) throw new CliError(`cni gc: --valid entry '${s}' is not CID/IFNAME`, 2);
      return { containerID, ifname };
    });
}

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  CniError,
  CniRuntime,
  DEFAULT_CACHE_DIR,
  DEFAULT_NET_DIR,
  executableExec,
  type GCAttachment,
  type LoadedNetConfList,
  loadNetworkConfByName,
  parseCniArgs,
  parseNetworkConfig,
  type RuntimeConf,
} from "@knet/cni-spec";
import { CliError, type CommandFamily, ExitCode, parseFlags } from "../cli.js";

const USAGE = `Usage: knet cni <add|check|del|status|gc> --conflist FILE [flags]
       knet cni <add|check|del|status|gc> NETWORK NETNS [flags]     (as cnitool)

Run a CNI configuration list the way a container runtime does (a cnitool
equivalent): plugins are executables found on the plugin path, results are
cached in libcni's format under <cache-dir>/results.

The cnitool form finds the configuration named NETWORK in $NETCONFPATH
(default ${DEFAULT_NET_DIR}: .conflist files first, then .conf/.json), makes
NETNS absolute, derives the container id from it as cnitool does
(cnitool-<sha512 of the path, 10 bytes in hex>), and reads CNI_PATH,
CNI_IFNAME, CNI_ARGS and CAP_ARGS from the environment; flags override them.

  add     ADD the attachment through every plugin; prints the result JSON
  check   CHECK the attachment against the cached result
  del     DEL through the plugins in reverse order (repeatable)
  status  STATUS of every plugin (lists of version 1.1.0 and later)
  gc      DEL cached attachments not listed in --valid, then GC every plugin

Flags:
  --conflist FILE        network configuration list (.conflist, or a single .conf)
  --netns PATH           container network namespace (add, check; optional for del)
  --container-id ID      container id (add, check, del)
  --ifname NAME          interface name in the container (default eth0; cnitool form: $CNI_IFNAME or eth0)
  --plugin-path DIRS     ':'-separated plugin search path (default $CNI_PATH or /opt/cni/bin)
  --cache-dir DIR        result cache directory (default ${DEFAULT_CACHE_DIR})
  --cni-args ARGS        CNI_ARGS, e.g. 'IgnoreUnknown=1;K8S_POD_NAME=web' (cnitool form: $CNI_ARGS)
  --capability-args JSON capability arguments, e.g. '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}' (cnitool form: $CAP_ARGS)
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
    const cnitool = positionals.length > 0;
    if (cnitool) {
      if (positionals.length !== 2) {
        throw new CliError(
          positionals.length === 1
            ? `cni ${verb}: network name and namespace are required (knet cni ${verb} NETWORK NETNS)`
            : `cni ${verb}: unexpected argument '${positionals[2]}' (knet cni ${verb} NETWORK NETNS)`,
          2,
        );
      }
      if (values.conflist) {
        throw new CliError(`cni ${verb}: give NETWORK NETNS or --conflist FILE, not both`, 2);
      }
    } else if (!values.conflist) {
      throw new CliError(`cni ${verb}: --conflist FILE (or NETWORK NETNS, as cnitool) is required`, 2);
    }
    const env = process.env;

    let list: LoadedNetConfList;
    if (cnitool) {
      const dir = env.NETCONFPATH || DEFAULT_NET_DIR;
      try {
        list = await loadNetworkConfByName(dir, positionals[0] as string);
      } catch (e) {
        throw new CliError(`cni ${verb}: ${(e as Error).message}`);
      }
    } else {
      const file = values.conflist as string;
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (e) {
        throw new CliError(
          `cni ${verb}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      try {
        list = parseNetworkConfig(text);
      } catch (e) {
        throw new CliError(`cni ${verb}: ${file}: ${(e as Error).message}`);
      }
    }

    let timeoutMs = 30_000;
    if (values.timeout !== undefined) {
      timeoutMs = Number(values.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new CliError(`cni ${verb}: --timeout must be a positive integer (milliseconds)`, 2);
      }
    }
    const pathText = values["plugin-path"] ?? env.CNI_PATH ?? "/opt/cni/bin";
    const runtime = new CniRuntime({
      exec: executableExec({ timeoutMs }),
      path: pathText.split(":").filter((d) => d !== ""),
      cacheDir: values["cache-dir"] ?? DEFAULT_CACHE_DIR,
    });

    const needsAttachment = verb === "add" || verb === "check" || verb === "del";
    let rt: RuntimeConf | undefined;
    if (needsAttachment) {
      // cnitool: the namespace path made absolute, the container id derived from it.
      const netns = cnitool ? resolve(positionals[1] as string) : values.netns;
      const containerId = values["container-id"] ?? (cnitool ? cnitoolContainerId(netns as string) : undefined);
      if (!containerId) throw new CliError(`cni ${verb}: --container-id is required`, 2);
      if (!netns && verb !== "del") throw new CliError(`cni ${verb}: --netns is required`, 2);
      if (cnitool && values.netns !== undefined) {
        throw new CliError(`cni ${verb}: give NETNS as an argument or --netns, not both`, 2);
      }
      let args: [string, string][] | undefined;
      if (values["cni-args"] !== undefined) {
        try {
          args = parseCniArgs(values["cni-args"]);
        } catch (e) {
          throw new CliError(`cni ${verb}: --cni-args: ${(e as Error).message}`, 2);
        }
      } else if (cnitool && env.CNI_ARGS) {
        args = cnitoolArgs(verb, env.CNI_ARGS);
      }
      const capText = values["capability-args"] ?? (cnitool && env.CAP_ARGS ? env.CAP_ARGS : undefined);
      const capSource = values["capability-args"] !== undefined ? "--capability-args" : "CAP_ARGS";
      let capabilityArgs: Record<string, unknown> | undefined;
      if (capText !== undefined) {
        try {
          capabilityArgs = JSON.parse(capText) as Record<string, unknown>;
        } catch (e) {
          throw new CliError(`cni ${verb}: ${capSource} is not JSON: ${(e as Error).message}`, 2);
        }
        if (typeof capabilityArgs !== "object" || capabilityArgs === null || Array.isArray(capabilityArgs)) {
          throw new CliError(`cni ${verb}: ${capSource} must be a JSON object`, 2);
        }
      }
      rt = {
        containerId,
        netns: netns ?? "",
        ifName: values.ifname ?? (cnitool && env.CNI_IFNAME ? env.CNI_IFNAME : "eth0"),
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
        throw new CliError(`cni ${verb}: ${e.message} (CNI error code ${e.code})`, ExitCode.negative);
      }
      throw e;
    }
    return 0;
  },
};

/** cnitool's container id: `cnitool-` and the first 10 bytes of the SHA-512 of the absolute netns path, in hex. */
function cnitoolContainerId(netnsPath: string): string {
  return `cnitool-${createHash("sha512").update(netnsPath).digest("hex").slice(0, 20)}`;
}

/** cnitool's reading of CNI_ARGS: `K=V` pairs split on `;`, neither side empty. */
function cnitoolArgs(verb: string, text: string): [string, string][] {
  return text.split(";").map((pair) => {
    const kv = pair.split("=");
    if (kv.length !== 2 || kv[0] === "" || kv[1] === "") {
      throw new CliError(`cni ${verb}: invalid CNI_ARGS pair ${JSON.stringify(pair)}`, 2);
    }
    return [kv[0] as string, kv[1] as string];
  });
}

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

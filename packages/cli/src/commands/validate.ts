import {
  formatProblem,
  nodePortRangeOf,
  parseManifests,
  type ValidateManifestsOptions,
  validateManifests,
} from "@knet/k8s";
import { CliError, type CommandFamily, parseFlags } from "../cli.js";
import { readManifestTexts } from "../manifests.js";

const USAGE = `Usage: knet validate -f FILE [-f FILE...] [flags]

Loads Kubernetes manifests (multi-document YAML, JSON, kubectl -o yaml|json
Lists), applies the API server's defaults and validates them as kube-apiserver
would. Prints every problem as

  FILE document N (line L): KIND NAMESPACE/NAME: FIELD: MESSAGE

and exits 1; a clean input prints one line per kind (e.g. "Service: 3") and
exits 0. Unknown kinds and unknown fields (typos such as "targetport", which
kubectl's default --validate=strict rejects) are problems unless allowed.

Flags:
  -f, --filename FILE               manifest file, directory (its .yaml/.yml/.json
                                    files) or '-' for stdin; repeatable
      --service-node-port-range R   valid NodePort range (default 30000-32767)
      --service-cluster-ip-range C  service CIDR(s), comma-separated; when given,
                                    clusterIPs outside them are rejected
      --allow-unknown-kinds         skip kinds knet does not read (listed on stderr)
      --allow-unknown-fields        ignore fields a kind does not have (kubectl
                                    --validate=false); by default they are problems
`;

/** `knet validate`: load, default and validate manifests as the API server would. */
export const validateCommand: CommandFamily = {
  name: "validate",
  summary: "load, default and validate Kubernetes manifests as the API server would",
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        filename: { type: "string", short: "f", multiple: true },
        "service-node-port-range": { type: "string" },
        "service-cluster-ip-range": { type: "string" },
        "allow-unknown-kinds": { type: "boolean" },
        "allow-unknown-fields": { type: "boolean" },
      },
      "validate",
    );
    if (positionals.length > 0) {
      throw new CliError(
        `validate: unexpected argument '${positionals[0]}' (use -f FILE; see 'knet validate --help')`,
        2,
      );
    }
    const options: { -readonly [K in keyof ValidateManifestsOptions]: ValidateManifestsOptions[K] } = {};
    const range = values["service-node-port-range"];
    if (range !== undefined) {
      try {
        options.nodePortRange = nodePortRangeOf({ nodePortRange: range });
      } catch (e) {
        throw new CliError(`validate: --service-node-port-range: ${(e as Error).message}`, 2);
      }
    }
    if (values["allow-unknown-fields"] === true) options.unknownFields = "ignore";
    const cidrs = values["service-cluster-ip-range"];
    if (cidrs !== undefined) options.serviceClusterIPRanges = cidrs.split(",").map((s) => s.trim());

    const texts = readManifestTexts(values.filename, "validate", 1);
    const parsed = parseManifests(texts);
    const report = validateManifests(parsed, options);
    const allowUnknown = values["allow-unknown-kinds"] === true;
    const problems = report.problems.filter((p) => !(allowUnknown && p.code === "unknown-kind"));
    if (allowUnknown) {
      for (const p of report.problems) if (p.code === "unknown-kind") io.err(`skipped: ${formatProblem(p)}\n`);
    }
    if (problems.length > 0) {
      for (const p of problems) io.out(`${formatProblem(p)}\n`);
      const n = problems.length;
      io.err(
        `knet validate: ${n} problem${n === 1 ? "" : "s"} in ${texts.length} file${texts.length === 1 ? "" : "s"}\n`,
      );
      return 1;
    }
    for (const [kind, count] of report.counts) io.out(`${kind}: ${count}\n`);
    if (report.counts.size === 0) io.out("no objects\n");
    return 0;
  },
};

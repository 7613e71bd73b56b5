import { registerServiceImport } from "@knet/coredns-lite";
import { registerGatewayKinds } from "@knet/gateway";
import {
  formatDocumentRef,
  formatProblem,
  KubeClient,
  loadKubeconfig,
  type ManifestProblem,
  nodePortRangeOf,
  parseManifests,
  type ValidateManifestsOptions,
  validateManifests,
} from "@knet/k8s";
import {
  CliError,
  type CommandFamily,
  ExitCode,
  formatStructured,
  OUTPUT_FLAGS,
  outputFormat,
  parseFlags,
} from "../cli.js";
import { inNamespace, NAMESPACE_FLAG, readManifestTexts } from "../manifests.js";
import { type ServerSideInput, serverSideProblems } from "./validate-server.js";

const USAGE = `Usage: knet validate -f FILE [-f FILE...] [flags]

Loads Kubernetes manifests (multi-document YAML, JSON, kubectl -o yaml|json
Lists), applies the API server's defaults and validates them as kube-apiserver
would. Prints every problem as

  FILE document N (line L): KIND NAMESPACE/NAME: FIELD: MESSAGE

and exits 1; a clean input prints one line per kind (e.g. "Service: 3") and
exits 0. Besides the core kinds it reads the extension kinds other knet
commands read: ServiceImport (multicluster.x-k8s.io, for dns) and Gateway API
and Ingress objects (for gateway). Unknown kinds and unknown fields (typos such as "targetport", which
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
  -n, --namespace NS                the namespace of objects that name none (as
                                    kubectl apply -n); another namespace is an error
      --server-side --kubeconfig PATH [--context NAME]
                                    send each object to that API server as a
                                    dry-run server-side apply (nothing is stored)
                                    and report what the server rejects instead
  -o, --output FORMAT               json | yaml: {valid, counts, problems: [...]};
                                    wide: also one line per object with its status
                                    (--json: same as -o json)

Exit status: 0 valid, 1 problems found, 2 bad usage or an unreadable file.
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
        ...NAMESPACE_FLAG,
        ...OUTPUT_FLAGS,
        "service-node-port-range": { type: "string" },
        "service-cluster-ip-range": { type: "string" },
        "allow-unknown-kinds": { type: "boolean" },
        "allow-unknown-fields": { type: "boolean" },
        "server-side": { type: "boolean" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
      },
      "validate",
    );
    if (positionals.length > 0) {
      throw new CliError(`validate: unexpected argument '${positionals[0]}' (use -f FILE; see 'knet validate --help')`);
    }
    const format = outputFormat(values, "validate", ["json", "yaml", "wide"]);
    const options: { -readonly [K in keyof ValidateManifestsOptions]: ValidateManifestsOptions[K] } = {};
    const range = values["service-node-port-range"];
    if (range !== undefined) {
      try {
        options.nodePortRange = nodePortRangeOf({ nodePortRange: range });
      } catch (e) {
        throw new CliError(`validate: --service-node-port-range: ${(e as Error).message}`);
      }
    }
    if (values["allow-unknown-fields"] === true) options.unknownFields = "ignore";
    const cidrs = values["service-cluster-ip-range"];
    if (cidrs !== undefined) options.serviceClusterIPRanges = cidrs.split(",").map((s) => s.trim());

    // The extension kinds other commands read validate here as there: ServiceImport
    // (KEP-1645, read by `dns` for multicluster zones) and Gateway API (read by `gateway`).
    registerServiceImport();
    registerGatewayKinds();
    const texts = readManifestTexts(values.filename, "validate");
    const parsed = parseManifests(texts);
    const report = validateManifests({ ...parsed, objects: inNamespace(parsed.objects, values.namespace) }, options);
    const allowUnknown = values["allow-unknown-kinds"] === true;
    let problems = report.problems.filter((p) => !(allowUnknown && p.code === "unknown-kind"));
    if (values["server-side"] === true) {
      // The server judges the objects; what knet cannot even read stays a problem.
      problems = [
        ...problems.filter((p) => p.code === "syntax" || p.code === "shape" || p.code === "unknown-kind"),
        ...(await serverSide(
          values.kubeconfig,
          values.context,
          // as written, not defaulted: kubectl sends what the file says
          [...inNamespace(parsed.objects, values.namespace), ...parsed.extensions],
          values.namespace,
        )),
      ];
    } else if (values.kubeconfig !== undefined || values.context !== undefined) {
      throw new CliError("validate: --kubeconfig and --context go with --server-side");
    }
    if (allowUnknown) {
      for (const p of report.problems) if (p.code === "unknown-kind") io.err(`skipped: ${formatProblem(p)}\n`);
    }
    const code = problems.length > 0 ? ExitCode.negative : ExitCode.ok;
    if (format === "json" || format === "yaml") {
      io.out(
        formatStructured(
          {
            valid: problems.length === 0,
            counts: Object.fromEntries(report.counts),
            problems: problems.map(problemData),
          },
          format,
        ),
      );
      return code;
    }
    for (const p of problems) io.out(`${formatProblem(p)}\n`);
    if (format === "wide") {
      const where = (p: ManifestProblem) => formatDocumentRef(p.source);
      for (const o of report.objects) {
        const md = o.object.metadata;
        const mine = problems.filter((p) => where(p) === formatDocumentRef(o.source)).length;
        io.out(
          `${o.object.kind.padEnd(26)} ${(md?.namespace ?? "").padEnd(16)} ${(md?.name ?? "").padEnd(30)} ${formatDocumentRef(o.source).padEnd(30)} ${mine === 0 ? "ok" : `${mine} problem${mine === 1 ? "" : "s"}`}\n`,
        );
      }
    }
    if (problems.length > 0) {
      const n = problems.length;
      io.err(
        `knet validate: ${n} problem${n === 1 ? "" : "s"} in ${texts.length} file${texts.length === 1 ? "" : "s"}\n`,
      );
      return code;
    }
    if (format !== "wide") for (const [kind, count] of report.counts) io.out(`${kind}: ${count}\n`);
    if (report.counts.size === 0) io.out("no objects\n");
    return code;
  },
};

async function serverSide(
  kubeconfig: string | undefined,
  context: string | undefined,
  inputs: readonly ServerSideInput[],
  namespace: string | undefined,
): Promise<ManifestProblem[]> {
  if (kubeconfig === undefined) throw new CliError("validate: --server-side needs --kubeconfig PATH");
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeconfig(kubeconfig, context));
  } catch (e) {
    throw new CliError(`validate: ${(e as Error).message}`);
  }
  try {
    return await serverSideProblems(client, inputs, namespace);
  } catch (e) {
    throw new CliError(`validate --server-side: ${client.conn.server}: ${(e as Error).message}`, ExitCode.negative);
  } finally {
    client.close();
  }
}

/** A problem as data for `-o json|yaml`: where, which object, which field, what. */
function problemData(p: ManifestProblem): Record<string, unknown> {
  return {
    ...(p.source?.source !== undefined ? { file: p.source.source } : {}),
    ...(p.source !== undefined ? { document: p.source.document } : {}),
    ...(p.source?.item !== undefined ? { item: p.source.item } : {}),
    ...(p.source?.line !== undefined ? { line: p.source.line } : {}),
    ...(p.object !== undefined ? { object: p.object } : {}),
    field: p.field,
    code: p.code,
    message: p.message,
  };
}

import { Cluster, ClusterError, type ClusterTrace, formatClusterTrace, traceRequest } from "@knet/cluster";
import { DEFAULT_PROXY_MODE, proxyModeNames } from "@knet/kube-proxy";
import { meshClusterExtension, type PeerAuthentication, registerMeshKinds } from "@knet/mesh";
import {
  CliError,
  type CommandFamily,
  ExitCode,
  formatStructured,
  OUTPUT_FLAGS,
  outputFormat,
  parseFlags,
} from "../cli.js";
import { gatewayExtensions, gatewayKinds } from "../gateway-extension.js";
import { INPUT_FLAGS, LIVE_FLAGS, liveTexts, NAMESPACE_FLAG, readInputs } from "../manifests.js";

const usage = (): string => `Usage: knet trace -f MANIFESTS --from NS/POD --to URL [flags]

Builds the cluster the manifests describe (simulated: no root needed) and
follows one request from a pod: resolv.conf search expansion and every DNS
query and answer, the pod's route, veth and bridge, the node's kube-proxy rules
and the backend chosen, NetworkPolicy with its reasons, VXLAN across nodes,
and delivery or the exact drop.

When the manifests hold Gateway API objects (GatewayClass, Gateway, HTTPRoute,
ReferenceGrant) or Ingresses, the Gateway runs on the first node and a host
named 'client' outside the cluster resolves the routes' hostnames to it:
  knet trace -f cluster.yaml -f gateway.yaml --from client --to http://shop.example.com/api
follows curl's request through the Gateway, the route's rule and filters, the
Service and the proxy mode to a pod.

Pods the Istio injector would inject (namespace label istio-injection=enabled,
pod label sidecar.istio.io/inject=true) get istio-init's rules in their own
network namespace and a sidecar: the trace follows app -> sidecar (redirect)
-> the destination's sidecar -> app, with both SPIFFE identities and whether
the destination's PeerAuthentication (security.istio.io/v1beta1: STRICT,
PERMISSIVE, DISABLE; mesh-wide in istio-system, namespace, workload) admits it.

Flags:
  -f, --filename FILE   manifest file ('-' for stdin); repeatable
      --kubeconfig PATH [--context NAME]  read a live cluster (what its API server lists)
                        instead of files, or as well as them
  -n, --namespace NS    namespace of --from POD when it is given without NS/
      --from [NS/]POD   the client pod, or a host outside the cluster ('client')
      --to URL          http://NAME[:PORT][/PATH], udp://NAME:PORT, or IP:PORT
      --mode MODE       kube-proxy mode: ${proxyModeNames().join(" | ")} (default ${DEFAULT_PROXY_MODE})
      --overlay MODE    vxlan (default) | host-gw
      --resolver R      glibc (default) | musl search-list behaviour
      --seed N          seed for endpoint choice (default 1)
  -o, --output FORMAT   json | yaml: the whole trace as data (--json: same as -o json)
      --strict          fail (exit 2) instead of skipping objects the API server would reject

Exit status: 0 when the request connected (through every proxy on its way, or
a proxy answered it below 400, e.g. a redirect), 1 when it did not, 2 for bad input.
`;

const OPTIONS = {
  ...INPUT_FLAGS,
  ...LIVE_FLAGS,
  ...NAMESPACE_FLAG,
  ...OUTPUT_FLAGS,
  from: { type: "string" },
  to: { type: "string" },
  mode: { type: "string" },
  overlay: { type: "string" },
  resolver: { type: "string" },
  seed: { type: "string" },
} as const;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CliError(`trace: unknown ${flag} '${value}': use ${allowed.join(", ")}`);
  }
  return value as T;
}

/** Whether the request got where it was going: past every user-space proxy, or answered by one (below 400). */
function reachedEnd(t: ClusterTrace): boolean {
  let leg = t;
  while (leg.connected && leg.proxied !== undefined) {
    const d = leg.proxied.decision;
    if (d.kind === "respond") return d.status < 400;
    if (leg.proxied.upstream === undefined) return false;
    leg = leg.proxied.upstream;
  }
  return leg.connected;
}

/** `knet trace`: one request through a simulated cluster. */
export const traceCommand: CommandFamily = {
  name: "trace",
  summary: "follow a request from a pod through DNS, kube-proxy, policy and the overlay",
  get usage() {
    return usage();
  },
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, OPTIONS, "trace");
    if (positionals.length > 0) throw new CliError(`trace: unexpected argument '${positionals[0]}'`);
    if (!values.from || !values.to)
      throw new CliError("trace: --from NS/POD and --to URL are required (see 'knet trace --help')");
    const format = outputFormat(values, "trace", ["json", "yaml"]);
    const mode = oneOf("--mode", values.mode, proxyModeNames());
    const overlay = oneOf("--overlay", values.overlay, ["vxlan", "host-gw"] as const);
    const resolver = oneOf("--resolver", values.resolver, ["glibc", "musl"] as const);
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (seed !== undefined && !Number.isInteger(seed))
      throw new CliError(`trace: --seed '${values.seed}' is not an integer`);
    const from =
      values.from.includes("/") || values.namespace === undefined ? values.from : `${values.namespace}/${values.from}`;
    registerMeshKinds();
    const { objects, extensions, skips } = readInputs(values, "trace", io, {
      admission: "api",
      extensions: [...gatewayKinds(), "PeerAuthentication"],
      live: await liveTexts(values, "trace"),
    });
    skips.finish();
    const mesh = meshClusterExtension({
      peerAuthentications: extensions.filter((e): e is PeerAuthentication => e.kind === "PeerAuthentication"),
    });
    try {
      const cluster = await Cluster.fromManifests(objects, {
        extensions: [mesh, ...gatewayExtensions(objects, extensions)],
        ...(mode ? { mode } : {}),
        ...(overlay ? { overlay } : {}),
        ...(seed !== undefined ? { seed } : {}),
      });
      const t = traceRequest(cluster, { from, to: values.to, ...(resolver ? { resolver } : {}) });
      io.out(format === "json" || format === "yaml" ? formatStructured(t, format) : formatClusterTrace(t));
      return reachedEnd(t) ? ExitCode.ok : ExitCode.negative;
    } catch (e) {
      if (e instanceof ClusterError) throw new CliError(`trace: ${e.message}`);
      throw e;
    }
  },
};

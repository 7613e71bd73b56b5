import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster, type ClusterTrace, formatClusterTrace, traceRequest } from "@knet/cluster";
import { formatRr, rcodeName, resolve } from "@knet/coredns-lite";
import { findProxyMode, type ProxyEngine, proxyModeNames } from "@knet/kube-proxy";
import { meshClusterExtension, type PeerAuthentication, registerMeshKinds } from "@knet/mesh";
import { explain } from "@knet/netpol";
import { CliError, type CommandFamily, type Io, parseFlags } from "../cli.js";
import { gatewayExtensions, gatewayKinds } from "../gateway-extension.js";
import { INPUT_FLAGS, readInputs } from "../manifests.js";

/**
 * The bundled example (two nodes, a shop with frontend, api x3, headless db,
 * ExternalName, NodePort, policies): the repository's
 * examples/manifests/demo-cluster.yaml, found above this file (source or dist).
 */
function exampleManifest(file: string): string {
  const rel = join("examples", "manifests", file);
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, rel))) return join(dir, rel);
  }
  throw new CliError(`demo: cannot find ${rel}; pass the manifests with -f FILE`, 2);
}
/** One meshed request in examples/manifests/mesh-demo.yaml (and one refused): each leg, identities, PeerAuthentication. */
async function meshSection(io: Io): Promise<void> {
  registerMeshKinds();
  const { objects, extensions, skips } = readInputs({ filename: [exampleManifest("mesh-demo.yaml")] }, "demo", io, {
    admission: "api",
    extensions: ["PeerAuthentication"],
  });
  skips.finish();
  const peerAuthentications = extensions.filter((e): e is PeerAuthentication => e.kind === "PeerAuthentication");
  const mesh = meshClusterExtension({ peerAuthentications });
  const cluster = await Cluster.fromManifests(objects, { extensions: [mesh] });
  const url = "http://web.shop.svc.cluster.local/";
  for (const from of ["shop/client", "legacy/old"]) {
    io.out(`${from}${mesh.sidecars.has(from) ? " (sidecar)" : " (no sidecar)"} -> ${url}\n`);
    for (
      let leg: ClusterTrace | undefined = traceRequest(cluster, { from, to: url });
      leg;
      leg = leg.proxied?.upstream
    ) {
      const redirect = leg.path?.steps.find((s) => s.kind === "nat" && s.owner?.startsWith("istio-init"));
      io.out(
        `  ${leg.client.pod} -> ${leg.target.host}:${leg.target.port}${redirect ? ` (${redirect.owner}: ${redirect.rewrite})` : ""}: ${leg.backend ? `${leg.backend.pod}:${leg.backend.port}` : leg.summary}\n`,
      );
      const d = leg.proxied?.decision;
      if (d !== undefined) io.out(`    ${leg.proxied?.by.split(" (")[0]}: ${d.kind}${d.note ? `, ${d.note}` : ""}\n`);
    }
  }
}

const FRONTEND = "shop/frontend-6d8f9c7b5-q2xkz";
const API_URL = "http://api.shop.svc.cluster.local:80";

const USAGE = `Usage: knet demo [-f MANIFESTS] [--mode MODE] [--strict]

Builds the bundled example cluster (${"examples/manifests/demo-cluster.yaml"}) in the
simulator and shows: the same request traced under each kube-proxy mode and the
rules each mode programs for it, cluster DNS answers, denied flows with their
explanations, requests from outside through the Gateway of
examples/manifests/demo-gateway.yaml, and one request through Istio sidecars
(examples/manifests/mesh-demo.yaml). Runs in seconds; needs no root.

Flags:
  -f, --filename FILE   other manifests (must contain the pods the demo names)
  --mode MODE           show only this proxy mode
`;

function heading(io: Io, text: string): void {
  io.out(`\n${"=".repeat(78)}\n${text}\n${"=".repeat(78)}\n`);
}

/** The lines of a rendered artifact that belong to one service (by its `ns/name` comment or chain name). */
function rulesFor(artifact: string, service: string, clusterIP: string | undefined): string[] {
  return artifact
    .split("\n")
    .filter((l) => !/^(add|flush) chain /.test(l))
    .filter(
      (l) =>
        l.includes(`${service}:`) || l.includes(`${service}/`) || (clusterIP !== undefined && l.includes(clusterIP)),
    );
}

/**
 * What a mode programs for one service: the lines of its render that name it,
 * or, for a mode whose render is binary map updates (ebpf's bpftool batch), the
 * lines of its other artifacts (ebpf's map dump) that do.
 */
function serviceRules(mode: string, engine: ProxyEngine, service: string, clusterIP: string | undefined): string[] {
  const lines = rulesFor(engine.render(), service, clusterIP);
  const one = (engine as { renderArtifact?: (name: string) => string }).renderArtifact;
  if (lines.length > 0 || one === undefined) return lines;
  return (findProxyMode(mode)?.artifacts ?? []).flatMap((a) => rulesFor(one.call(engine, a.name), service, clusterIP));
}

function backendLine(t: ClusterTrace): string {
  const b = t.backend;
  return b ? `${b.pod} (${b.ip}:${b.port} on ${b.node})` : t.summary;
}

/** `knet demo`: the README's walkthrough of the bundled cluster. */
export const demoCommand: CommandFamily = {
  name: "demo",
  summary: "trace requests through the bundled example cluster under each proxy mode (no root needed)",
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...INPUT_FLAGS, mode: { type: "string" } }, "demo");
    const { objects, extensions, skips } = readInputs(
      {
        ...values,
        filename: values.filename ?? [exampleManifest("demo-cluster.yaml"), exampleManifest("demo-gateway.yaml")],
      },
      "demo",
      io,
      {
        admission: "api",
        extensions: gatewayKinds(),
      },
    );
    skips.finish();
    const modes = proxyModeNames().filter((m) => values.mode === undefined || m === values.mode);
    const clusters = await Promise.all(modes.map((mode) => Cluster.fromManifests(objects, { mode })));
    const first = clusters[0];
    if (!first) return 2;

    heading(io, "The cluster (simulated: netstack namespaces, flannel VXLAN, CNI bridge + host-local)");
    for (const n of first.nodes.values()) {
      io.out(`node ${n.name}  ${n.ip}  podCIDR ${n.podCidr}  flannel.1 ${n.podCidr.addr}/32 (VTEP ${n.vtepMac})\n`);
    }
    for (const p of first.pods.values())
      io.out(`  pod ${p.key.padEnd(40)} ${p.ip.toString().padEnd(12)} on ${p.node} (${p.hostVeth})\n`);
    for (const s of first.services.values()) {
      const spec = s.service.spec;
      const ports = (spec?.ports ?? [])
        .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol}`)
        .join(",");
      io.out(
        `  svc ${s.key.padEnd(22)} ${(spec?.type ?? "").padEnd(12)} ${(spec?.clusterIP ?? spec?.externalName ?? "").padEnd(14)} ${ports}\n`,
      );
    }

    heading(io, `1. ${FRONTEND} -> ${API_URL}, traced under ${modes.join(", ")}`);
    const traces = clusters.map((c) => traceRequest(c, { from: FRONTEND, to: API_URL }));
    io.out(formatClusterTrace(traces[0] as ClusterTrace));
    io.out("\nThe same request under each mode (same seed):\n");
    traces.forEach((t, i) => {
      const p = t.proxy[0];
      io.out(
        `  ${(modes[i] ?? "").padEnd(9)} -> ${backendLine(t)}; ${p ? `${p.evaluation.trace.length} rule steps visited on ${p.node}` : "no proxy step"}\n`,
      );
    });
    const apiIp = first.services.get("shop/api")?.service.spec?.clusterIP;
    clusters.forEach((c, i) => {
      const node = c.nodes.get(traces[i]?.client.node ?? "");
      if (!node) return;
      const lines = serviceRules(modes[i] ?? "", node.proxy, "shop/api", apiIp);
      io.out(`\nRules ${modes[i]} mode programs on ${node.name} for shop/api (${lines.length} lines):\n`);
      for (const l of lines.slice(0, 14)) io.out(`  ${l}\n`);
      if (lines.length > 14) io.out(`  ... ${lines.length - 14} more\n`);
    });

    heading(io, "2. Across nodes: the request lands on node-b through VXLAN (MTU 1450 inside 1500)");
    const cross = (() => {
      for (let i = 0; i < 30; i++) {
        const t = traceRequest(first, { from: FRONTEND, to: API_URL });
        if (t.backend?.node !== first.pods.get(FRONTEND)?.node) return t;
      }
      return undefined;
    })();
    for (const s of cross?.path?.steps.filter((x) => ["encap", "decap", "nat", "deliver"].includes(x.kind)) ?? []) {
      io.out(
        `  ${s.kind.padEnd(7)} ${s.ns}${s.dev ? `/${s.dev}` : ""}: ${s.rewrite ? `${s.rewrite} ` : ""}${s.note}\n`,
      );
    }

    heading(io, "3. Cluster DNS (coredns-lite's kubernetes plugin)");
    for (const [name, type] of [
      ["api.shop.svc.cluster.local", "A"],
      ["db.shop.svc.cluster.local", "A"],
      ["db-0.db.shop.svc.cluster.local", "A"],
      ["_http._tcp.api.shop.svc.cluster.local", "SRV"],
      ["payments.shop.svc.cluster.local", "A"],
      ["nope.shop.svc.cluster.local", "A"],
      ["dns-version.cluster.local", "TXT"],
    ] as const) {
      const r = resolve(first.dns, { name, type });
      const answer = r.answer.map(formatRr).map((l) => l.replace(/\t/g, " "));
      const rcode = rcodeName(r.rcode);
      io.out(
        `  ${`${name} ${type}`.padEnd(46)} ${rcode}${answer.length ? `: ${answer.join(" | ")}` : r.authority.length ? " (SOA in authority)" : ""}\n`,
      );
    }

    heading(io, "4. Denied flows, explained");
    const denied = traceRequest(first, { from: FRONTEND, to: "http://db.shop:5432" });
    io.out(`${FRONTEND} -> db.shop:5432: ${denied.summary}\n`);
    const drop = denied.policy.find((d) => !d.verdict[d.direction].allowed);
    if (drop) io.out(`${explain(drop.verdict).trimEnd()}\n`);
    const nodeB = first.nodes.get("node-b");
    if (nodeB) {
      const np = traceRequest(first, { from: FRONTEND, to: `http://${nodeB.ip}:30080` });
      io.out(`\nNodePort ${nodeB.ip}:30080 (shop/web) from ${FRONTEND}: ${np.summary}\n`);
      const snat = np.path?.steps.find((s) => s.kind === "nat" && s.rewrite?.startsWith("src"));
      if (snat) io.out(`  ${snat.ns} masqueraded the client: ${snat.rewrite}\n`);
      const npDrop = np.policy.find((d) => !d.verdict[d.direction].allowed);
      if (npDrop) io.out(`${explain(npDrop.verdict).trimEnd()}\n`);
      io.out(
        "  (externalTrafficPolicy: Cluster masquerades into the pod network, so an ipBlock allow that\n   excludes the pod CIDR never matches; externalTrafficPolicy: Local keeps the client address.)\n",
      );
    }
    const gateway = gatewayExtensions(objects, extensions);
    if (gateway.length > 0) {
      heading(io, "5. From outside the cluster: curl http://shop.example.com/ through a Gateway on node-a");
      const edge = await Cluster.fromManifests(objects, {
        extensions: gateway,
        ...(modes[0] !== undefined ? { mode: modes[0] } : {}),
      });
      for (const url of ["http://shop.example.com/", "http://shop.example.com/old/cart"]) {
        const t = traceRequest(edge, { from: "client", to: url });
        io.out(`curl ${url}\n`);
        for (let leg: ClusterTrace | undefined = t; leg !== undefined; leg = leg.proxied?.upstream) {
          io.out(
            `  ${leg.client.pod} -> ${leg.target.host}:${leg.target.port}${leg.http ? ` ${leg.http.method} ${leg.http.path}` : ""}: ${leg.backend ? `reached ${backendLine(leg)}` : leg.connected ? "connected" : "not connected"}\n`,
          );
          const d = leg.proxied?.decision;
          if (d !== undefined)
            io.out(
              `    ${leg.proxied?.by} ${d.kind === "forward" ? `forwards to ${d.to}` : d.kind === "reset" ? "resets the connection" : `answers ${d.status}`}${d.note ? ` (${d.note})` : ""}\n`,
            );
        }
      }
      io.out("  (the Gateway routes by Host and path, then the node's proxy mode picks the pod behind the Service)\n");
    }
    heading(io, "6. A service mesh: Istio sidecars, mTLS identities, PeerAuthentication STRICT (mesh-demo.yaml)");
    await meshSection(io);
    io.out("\nMore: knet trace -f examples/manifests/demo-cluster.yaml --from NS/POD --to URL [--mode M] [--json]\n");
    io.out(
      "      knet trace -f examples/manifests/mesh-demo.yaml --from shop/client --to http://web.shop.svc.cluster.local/\n",
    );
    if (gateway.length > 0)
      io.out(
        "      knet trace -f examples/manifests/demo-cluster.yaml -f examples/manifests/demo-gateway.yaml --from client --to http://shop.example.com/api\n",
      );
    return 0;
  },
};

import { readFileSync } from "node:fs";
import { Cluster, type ClusterTrace, formatClusterTrace, traceRequest } from "@knet/cluster";
import { parseManifests } from "@knet/k8s";
import { registerProxyMode } from "@knet/kube-proxy";
import { iptablesMode } from "@knet/kube-proxy-iptables";
import { meshClusterExtension, type PeerAuthentication, registerMeshKinds } from "@knet/mesh";
import { describe, expect, it } from "vitest";

registerProxyMode(iptablesMode);
registerMeshKinds();
/** Two nodes; shop injected (client, web, runs-as-proxy under UID 1337), legacy not; mesh-wide STRICT. */
const BASE = readFileSync(new URL("../../../examples/manifests/mesh-demo.yaml", import.meta.url), "utf8");

function pa(namespace: string, name: string, spec: Record<string, unknown>): string {
  return `---\n${JSON.stringify({ apiVersion: "security.istio.io/v1beta1", kind: "PeerAuthentication", metadata: { name, namespace }, spec })}\n`;
}

async function meshedWith(policies: string, nativeNftables: boolean) {
  const parsed = parseManifests(`${BASE}${policies}`);
  expect(parsed.problems).toEqual([]);
  const peerAuthentications = parsed.extensions.map((e) => e.object as PeerAuthentication);
  const mesh = meshClusterExtension({ peerAuthentications, mesh: { nativeNftables } });
  const cluster = await Cluster.fromManifests(
    parsed.objects.map((o) => o.object),
    { extensions: [mesh] },
  );
  return { cluster, mesh };
}

/** The legs of a traced request: each connection, who accepted it, and what that proxy decided. */
function legs(t: ClusterTrace): { to: string; by?: string; decision?: string; note?: string }[] {
  const out: { to: string; by?: string; decision?: string; note?: string }[] = [];
  let leg: ClusterTrace | undefined = t;
  while (leg !== undefined) {
    const p: ClusterTrace["proxied"] = leg.proxied;
    out.push({
      to: leg.backend ? `${leg.backend.pod}:${leg.backend.port}` : leg.summary,
      ...(p
        ? { by: p.by.split(" (")[0], decision: p.decision.kind, ...(p.decision.note ? { note: p.decision.note } : {}) }
        : {}),
    });
    leg = p?.upstream;
  }
  return out;
}

const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/shop-client";
const WEB_ID = "spiffe://cluster.local/ns/shop/sa/web";

describe.each([
  ["iptables", false],
  ["nftables", true],
] as const)("sidecars in the cluster, istio-init writing %s", (format, nft) => {
  const meshed = (policies = "") => meshedWith(policies, nft);
  it("injects the pods the webhook selects, with their identities", async () => {
    const { mesh } = await meshed();
    expect([...mesh.sidecars.keys()].sort()).toEqual(["shop/client", "shop/runs-as-proxy", "shop/web"]);
    expect(mesh.sidecars.get("shop/client")?.identity).toBe(CLIENT_ID);
    expect(mesh.sidecars.get("shop/client")?.format).toBe(format);
    expect(mesh.sidecars.get("shop/runs-as-proxy")?.identity).toBe("spiffe://cluster.local/ns/shop/sa/default");
    expect(mesh.sidecars.get("shop/web")?.peerAuthentication).toMatchObject({
      mode: "STRICT",
      from: { mesh: "istio-system/default" },
    });
    expect(mesh.sidecars.has("legacy/old")).toBe(false);
    expect(mesh.sidecars.has("kube-system/coredns")).toBe(false);
  });

  it("meshed -> meshed under STRICT: app -> sidecar (redirect) -> web's sidecar (mTLS, both identities) -> app", async () => {
    const { cluster } = await meshed();
    const t = traceRequest(cluster, { from: "shop/client", to: "http://web.shop.svc.cluster.local/" });
    const l = legs(t);
    expect(l.map((x) => `${x.to} ${x.by ?? ""} ${x.decision ?? ""}`.trim())).toEqual([
      "shop/client:15001 sidecar shop/client outbound :15001 forward",
      "shop/web:15006 sidecar shop/web inbound :15006 forward",
      "shop/web:8080",
    ]);
    // The app's connection to the ClusterIP was redirected to its own sidecar (nat OUTPUT in the pod's namespace).
    expect(t.path?.steps.some((s) => s.kind === "nat" && s.ns === "shop.client" && /15001/.test(s.rewrite ?? ""))).toBe(
      true,
    );
    expect(l[0]?.note).toContain(`mTLS as ${CLIENT_ID} to ${WEB_ID}`);
    expect(l[0]?.note).toMatch(
      /^outbound\|80\|\|web\.shop\.svc\.cluster\.local \(endpoint 1 of 1\) -> shop\/web 10\.244\.2\.\d+:8080/,
    );
    expect(l[1]?.note).toContain(`mTLS from ${CLIENT_ID} to ${WEB_ID}: admitted`);
    expect(l[1]?.note).toContain("STRICT");
    expect(l[1]?.note).toContain("istio-system/default");
    // The inbound sidecar reaches the app from 127.0.0.6 under its UID: not captured again.
    const last = t.proxied?.upstream?.proxied?.upstream;
    expect(last?.path?.sent.src.toString()).toBe("127.0.0.6");
    expect(last?.connected).toBe(true);
    const text = formatClusterTrace(t);
    expect(text).toContain(CLIENT_ID);
    expect(text).toContain(WEB_ID);
  });

  it("plaintext from a pod without a sidecar: STRICT refuses it, PERMISSIVE admits it", async () => {
    for (const [mode, decision] of [
      ["STRICT", "reset"],
      ["PERMISSIVE", "forward"],
    ] as const) {
      const { cluster } = await meshed(pa("shop", "default", { mtls: { mode } }));
      const t = traceRequest(cluster, { from: "legacy/old", to: "http://web.shop.svc.cluster.local/" });
      const l = legs(t);
      // no sidecar at the client: the first connection goes straight to web, whose inbound rules redirect it
      expect(l[0]?.to).toBe("shop/web:15006");
      expect(l[0]?.decision).toBe(decision);
      expect(l[0]?.note).toContain("plaintext from 10.244.1.");
      expect(l[0]?.note).toContain(`${mode}`);
      expect(l[0]?.note).toContain("from shop/default over istio-system/default");
      if (decision === "reset") expect(t.summary).toMatch(/resets the connection/);
      else expect(l[1]?.to).toBe("shop/web:8080");
    }
  });

  it("the proxy UID's own traffic is not redirected", async () => {
    const { cluster } = await meshed(pa("shop", "default", { mtls: { mode: "PERMISSIVE" } }));
    const t = traceRequest(cluster, { from: "shop/runs-as-proxy", to: "http://web.shop.svc.cluster.local/" });
    // UID 1337 skips its own sidecar: the connection leaves plaintext and web's inbound sidecar gets it
    expect(
      t.path?.steps.some((s) => s.kind === "nat" && s.ns === "shop.runs-as-proxy" && /15001/.test(s.rewrite ?? "")),
    ).toBe(false);
    expect(legs(t)[0]).toMatchObject({ to: "shop/web:15006", decision: "forward" });
    expect(legs(t)[0]?.note).toContain("plaintext");
    const app = traceRequest(cluster, { from: "shop/client", to: "http://web.shop.svc.cluster.local/" });
    expect(legs(app)[0]?.to).toBe("shop/client:15001");
  });

  it("precedence: a workload policy over the namespace's over the mesh's; port-level over workload; oldest wins a tie", async () => {
    const policies =
      pa("shop", "default", { mtls: { mode: "DISABLE" } }) +
      pa("shop", "web", {
        selector: { matchLabels: { app: "web" } },
        mtls: { mode: "UNSET" },
        portLevelMtls: { "9090": { mode: "PERMISSIVE" } },
      });
    const { mesh, cluster } = await meshed(policies);
    const web = mesh.sidecars.get("shop/web")?.peerAuthentication;
    // UNSET inherits the namespace's DISABLE; port 9090 is PERMISSIVE
    expect(web?.mode).toBe("DISABLE");
    expect(web?.perPort.get(9090)).toBe("PERMISSIVE");
    expect(web?.from).toEqual({ mesh: "istio-system/default", namespace: "shop/default", workload: "shop/web" });
    expect(mesh.sidecars.get("shop/client")?.peerAuthentication.mode).toBe("DISABLE");
    // DISABLE at web: the client's sidecar sends plaintext (auto mTLS), which web admits
    const t = traceRequest(cluster, { from: "shop/client", to: "http://web.shop.svc.cluster.local/" });
    expect(legs(t)[0]?.note).toContain("the destination's PeerAuthentication is DISABLE");
    expect(legs(t)[1]).toMatchObject({ decision: "forward" });
    // the metrics port is PERMISSIVE at workload level: mTLS from the client's sidecar
    const m = traceRequest(cluster, { from: "shop/client", to: "http://web.shop.svc.cluster.local:9090/" });
    expect(legs(m)[1]?.note).toContain(`mTLS from ${CLIENT_ID}`);
    expect(legs(m)[1]?.note).toContain("port 9090 of shop/web");
  });
});

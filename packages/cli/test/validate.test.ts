import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const manifests = join(import.meta.dirname, "../../../examples/manifests");
let dir = "";
let bad = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-validate-"));
  bad = join(dir, "bad.yaml");
  await writeFile(
    bad,
    `apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  type: NodePort
  ports:
  - {name: http, port: 80, nodePort: 8080}
  - {name: http, port: 0, protocol: ICMP, targetport: 80}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad-block, namespace: shop}
spec:
  podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/8]}
    ports:
    - {port: 9000, endPort: 8000}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("knet validate", () => {
  it("prints every problem with document, object and field path, and exits 1", async () => {
    const c = capture();
    expect(await main(["validate", "-f", bad], c.io)).toBe(1);
    const lines = c.out().trim().split("\n");
    // Each line number is the line of the field (a flow mapping's key), not the document start.
    expect(lines).toEqual([
      `${bad} document 1 (line 8): Service shop/api: spec.ports[1].targetport: Unknown field: not in the v1 Service schema (kubectl --validate=strict rejects it)`,
      `${bad} document 1 (line 7): Service shop/api: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767`,
      `${bad} document 1 (line 8): Service shop/api: spec.ports[1].name: Duplicate value: "http"`,
      `${bad} document 1 (line 8): Service shop/api: spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive`,
      `${bad} document 1 (line 8): Service shop/api: spec.ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`,
      `${bad} document 1 (line 8): Service shop/api: spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive`,
      `${bad} document 2 (line 14): NetworkPolicy shop/bad-block: spec.podSelector.matchExpressions[0].operator: Unsupported value: "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"`,
      `${bad} document 2 (line 19): NetworkPolicy shop/bad-block: spec.ingress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to \`port\``,
      `${bad} document 2 (line 17): NetworkPolicy shop/bad-block: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of \`cidr\``,
      `${bad} document 3 (line 22): Deployment shop/web: kind: unknown kind "Deployment" (apps/v1): knet reads Service, Pod, Node, Namespace, EndpointSlice, NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, ServiceImport, GatewayClass, Gateway, HTTPRoute, ReferenceGrant, Ingress, IngressClass`,
    ]);
    expect(c.err()).toBe("knet validate: 10 problems in 1 file\n");
  });

  it("validates ServiceImport (KEP-1645) and Gateway API objects as dns and gateway read them", async () => {
    const file = join(dir, "extensions.yaml");
    await writeFile(
      file,
      `apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata: {name: api, namespace: shop}
spec: {type: ClusterSetIP, ips: [10.42.0.5], ports: [{port: 80, protocol: TCP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec: {parentRefs: [{name: gw}]}
`,
    );
    const ok = capture();
    expect(await main(["validate", "-f", file], ok.io), ok.out()).toBe(0);
    expect(ok.out()).toBe("ServiceImport: 1\nHTTPRoute: 1\n");
    const broken = join(dir, "bad-import.yaml");
    await writeFile(
      broken,
      `apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata: {name: api, namespace: shop}
spec: {type: ClusterSetIP, ports: [{port: 0}]}
`,
    );
    const bad = capture();
    expect(await main(["validate", "-f", broken], bad.io)).toBe(1);
    expect(bad.out()).toMatch(/ServiceImport shop\/api: spec\.ports\[0\]\.port: .*1\.\.65535/);
  });

  it("takes the node-port range flag and can skip unknown kinds", async () => {
    const c = capture();
    expect(
      await main(["validate", "-f", bad, "--service-node-port-range", "8000-9000", "--allow-unknown-kinds"], c.io),
    ).toBe(1);
    expect(c.out()).not.toMatch(/nodePort|Deployment/);
    expect(c.err()).toMatch(/^skipped: .*Deployment shop\/web/);
  });

  it("prints a one-line summary per kind for clean files and exits 0", async () => {
    const c = capture();
    const code = await main(
      [
        "validate",
        "-f",
        join(manifests, "demo-cluster.yaml"),
        "-f",
        join(manifests, "selectorless-endpointslice.yaml"),
      ],
      c.io,
    );
    expect(c.out()).toBe("Node: 2\nNamespace: 2\nPod: 8\nService: 6\nNetworkPolicy: 6\nEndpointSlice: 1\n");
    expect(code).toBe(0);
  });

  it("reads every manifest file of a directory, like kubectl -f DIR", async () => {
    // A private copy of this package's fixtures (other packages may add files to examples/manifests).
    const sub = join(dir, "fixtures");
    await mkdir(sub);
    for (const f of ["demo-cluster.yaml", "netpol-deny-all.yaml", "externalname.yaml"]) {
      await copyFile(join(manifests, f), join(sub, f));
    }
    await writeFile(join(sub, "notes.txt"), "not a manifest");
    const c = capture();
    expect(await main(["validate", "-f", sub], c.io)).toBe(0);
    expect(c.out()).toBe("Node: 2\nNamespace: 2\nPod: 8\nService: 7\nNetworkPolicy: 8\n");
  });

  it("rejects usage errors and unreadable files with exit 2", async () => {
    const c = capture();
    expect(await main(["validate"], c.io)).toBe(2);
    expect(await main(["validate", "-f", bad, "--service-node-port-range", "9-1"], c.io)).toBe(2);
    expect(await main(["validate", "-f", join(dir, "missing.yaml")], c.io)).toBe(2);
    expect(c.err()).toMatch(/no input[\s\S]*node-port-range[\s\S]*cannot read .*missing\.yaml: ENOENT/);
  });
});

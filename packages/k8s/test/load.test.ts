import { type KubeObject, loadManifests, ManifestError, parseManifests, serializeManifests } from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const twoDocs = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {containers: [{name: c, image: nginx}]}
---
`;

describe("loadManifests", () => {
  it("reads multi-document YAML and skips empty documents", () => {
    const objs = loadManifests(twoDocs);
    expect(objs.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(["Service/web", "Pod/web-1"]);
  });

  it("reads kubectl -o json List objects and typed lists without item kinds", () => {
    const list = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "a" } },
        { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } },
      ],
    });
    expect(loadManifests(list).map((o) => o.kind)).toEqual(["Namespace", "Node"]);
    const typed = `apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: s1}\n  spec: {ports: [{port: 53}]}\n`;
    const [svc] = loadManifests(typed);
    expect(svc?.kind).toBe("Service");
    expect(svc?.apiVersion).toBe("v1");
  });

  it("reports unknown kinds with document, item and object instead of dropping them", () => {
    const text = `${twoDocs}apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n`;
    const r = parseManifests({ name: "app.yaml", text });
    expect(r.objects).toHaveLength(2);
    expect(r.problems).toHaveLength(1);
    const p = r.problems[0];
    expect(p?.code).toBe("unknown-kind");
    expect(p?.source).toEqual({ source: "app.yaml", document: 3, line: 14 }); // the kind line
    expect(p?.object).toEqual({ kind: "Deployment", namespace: "shop", name: "web" });
    expect(() => loadManifests({ name: "app.yaml", text })).toThrow(
      /app\.yaml document 3 \(line 14\): Deployment shop\/web: kind: unknown kind/,
    );
    expect(loadManifests(text, { skipUnknownKinds: true })).toHaveLength(2);
  });

  it("collects every problem: syntax, missing kind, wrong apiVersion, non-object", () => {
    const text = [
      "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n",
      "apiVersion: v1\nmetadata: {name: x}\n",
      "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: old}\n",
      "- just\n- a list\n",
    ].join("---\n");
    try {
      loadManifests(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      const codes = (e as ManifestError).problems.map((p) => [p.source?.document, p.code, p.field]);
      expect(codes).toContainEqual([1, "syntax", ""]);
      expect(codes).toContainEqual([2, "required", "kind"]);
      expect(codes).toContainEqual([3, "api-version", "apiVersion"]);
      expect(codes).toContainEqual([4, "shape", ""]);
    }
  });

  it("reads kubectl get -o yaml Lists and the policy.networking.k8s.io kinds", () => {
    const text = `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: policy.networking.k8s.io/v1alpha1
  kind: AdminNetworkPolicy
  metadata: {name: cluster-control}
  spec:
    priority: 10
    subject: {namespaces: {}}
    ingress:
    - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
- apiVersion: policy.networking.k8s.io/v1alpha1
  kind: BaselineAdminNetworkPolicy
  metadata: {name: default}
  spec:
    subject: {namespaces: {}}
    egress:
    - {action: Allow, to: [{networks: [10.0.0.0/8]}], ports: [{portRange: {start: 80, end: 90}}]}
`;
    const r = parseManifests({ name: "anp.yaml", text });
    expect(r.problems).toEqual([]);
    expect(r.objects.map((o) => [o.object.kind, o.source.item])).toEqual([
      ["AdminNetworkPolicy", 0],
      ["BaselineAdminNetworkPolicy", 1],
    ]);
  });

  it("reads YAML 1.1 scalars as kubectl's go-yaml does (on/yes are booleans, timestamps and 1:30 strings)", () => {
    const [pod] = loadManifests(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {debug: on, at: 1:30}, deletionTimestamp: 2024-01-01T00:00:00Z}\n",
    );
    expect(pod?.metadata?.labels?.debug).toBe(true);
    expect(pod?.metadata?.labels?.at).toBe("1:30");
    expect(pod?.metadata?.deletionTimestamp).toBe("2024-01-01T00:00:00Z");
  });
});

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const labelValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    "on",
    "yes",
    "y",
    "null",
    "0x1",
    "0755",
    "1e3",
    "~",
    "",
    "1:30",
    "2024-01-01T00:00:00Z",
    "2001:0:0",
    ".inf",
  ),
);
const objectArb: fc.Arbitrary<KubeObject> = fc.oneof(
  fc.record({
    apiVersion: fc.constant("v1" as const),
    kind: fc.constant("Service" as const),
    metadata: fc.record({ name, namespace: name, labels: fc.dictionary(name, labelValue, { maxKeys: 3 }) }),
    spec: fc.record({
      ports: fc.array(
        fc.record({
          port: fc.integer({ min: 1, max: 65535 }),
          targetPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), name),
        }),
        { maxLength: 3 },
      ),
      selector: fc.dictionary(name, labelValue, { maxKeys: 3 }),
    }),
  }),
  fc.record({
    apiVersion: fc.constant("v1" as const),
    kind: fc.constant("Pod" as const),
    metadata: fc.record({ name, annotations: fc.dictionary(name, fc.string(), { maxKeys: 2 }) }),
    status: fc.record({ podIP: fc.ipV4(), phase: fc.constantFrom("Running", "Pending") }),
  }),
);

describe("serializeManifests", () => {
  it("round-trips load -> serialise -> load in YAML and JSON", () => {
    fc.assert(
      fc.property(fc.array(objectArb, { maxLength: 5 }), fc.constantFrom("yaml", "json" as const), (objs, fmt) => {
        const again = loadManifests(serializeManifests(objs, fmt as "yaml" | "json"));
        expect(again).toEqual(objs);
      }),
      { numRuns: 150 },
    );
  });
});

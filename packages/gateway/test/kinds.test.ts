import { loadManifests, validateManifests } from "@knet/k8s";
import { describe, expect, it } from "vitest";
import { registerGatewayKinds } from "../src/index.js";

const text = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: Exact, value: nope}}]}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: shop}
spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: web}], to: [{group: "", kind: Service}]}
`;

describe("kind registry", () => {
  it("registers the gateway kinds with @knet/k8s, idempotently, with this package's defaults and validation", () => {
    registerGatewayKinds();
    registerGatewayKinds();
    const report = validateManifests(text);
    expect(report.extensions.map((e) => e.object.kind)).toEqual(["HTTPRoute", "ReferenceGrant"]);
    const route = report.extensions[0]?.object as unknown as { spec: { parentRefs: { kind: string }[] } };
    expect(route.spec.parentRefs[0]?.kind).toBe("Gateway"); // CRD default applied
    expect(report.problems.map((p) => `${p.field}: ${p.message}`)).toEqual([
      "spec.rules[0].matches[0].path: Invalid value: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
    ]);
    expect(() => loadManifests(text)).not.toThrow();
  });
});

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

  it.each([
    ["gateway.networking.k8s.io/v1", "HTTPRoute", true],
    ["gateway.networking.k8s.io/v1beta1", "HTTPRoute", true],
    ["gateway.networking.k8s.io/v1", "ReferenceGrant", true],
    ["gateway.networking.k8s.io/v1beta1", "ReferenceGrant", true],
    ["gateway.networking.k8s.io/v1alpha2", "HTTPRoute", false],
    ["networking.k8s.io/v1beta1", "Ingress", false],
  ])("reads %s %s as the CRDs serve it: %s", (apiVersion, kind, served) => {
    registerGatewayKinds();
    const report = validateManifests(
      `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x, namespace: shop}\n`,
    );
    const versionProblems = report.problems.filter((p) => p.code === "api-version");
    expect(versionProblems.length === 0).toBe(served);
    if (!served)
      expect(versionProblems[0]?.message).toMatch(
        new RegExp(`^${kind} is read as apiVersion \\S+( or \\S+)?, got "${apiVersion}"$`),
      );
  });
});

import { describe, expect, it } from "vitest";
import { type Condition, gatewayStatus } from "../src/index.js";
import { conformanceModel } from "./helpers.js";

// A TLS Secret like the one the conformance suite creates at run time (tls.crt/tls.key PEM).
const secret = (ns: string, name: string): string => `apiVersion: v1
kind: Secret
metadata: {namespace: ${ns}, name: ${name}}
type: kubernetes.io/tls
stringData:
  tls.crt: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"
  tls.key: "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"
`;

const cond = (list: readonly Condition[] | undefined, type: string): Condition | undefined =>
  list?.find((c) => c.type === type);

describe("route parent conditions (conformance status expectations)", () => {
  // [test, route, gateway, condition type, status, reason] from conformance/tests/<test>.go
  const rows: [string, string, string, string, "True" | "False", string][] = [
    [
      "httproute-invalid-parentref-not-matching-section-name",
      "httproute-listener-not-matching-section-name",
      "same-namespace",
      "Accepted",
      "False",
      "NoMatchingParent",
    ],
    [
      "httproute-invalid-parentref-not-matching-listener-port",
      "httproute-listener-not-matching-route-port",
      "same-namespace",
      "Accepted",
      "False",
      "NoMatchingParent",
    ],
    [
      "httproute-invalid-cross-namespace-parent-ref",
      "invalid-cross-namespace-parent-ref",
      "same-namespace",
      "Accepted",
      "False",
      "NotAllowedByListeners",
    ],
    ["httproute-disallowed-kind", "disallowed-kind", "tlsroutes-only", "Accepted", "False", "NotAllowedByListeners"],
    [
      "httproute-invalid-backendref-unknown-kind",
      "invalid-backend-ref-unknown-kind",
      "same-namespace",
      "ResolvedRefs",
      "False",
      "InvalidKind",
    ],
    [
      "httproute-invalid-nonexistent-backendref",
      "invalid-nonexistent-backend-ref",
      "same-namespace",
      "ResolvedRefs",
      "False",
      "BackendNotFound",
    ],
    [
      "httproute-invalid-cross-namespace-backend-ref",
      "invalid-cross-namespace-backend-ref",
      "same-namespace",
      "ResolvedRefs",
      "False",
      "RefNotPermitted",
    ],
    [
      "httproute-partially-invalid-via-invalid-reference-grant",
      "invalid-reference-grant",
      "same-namespace",
      "ResolvedRefs",
      "False",
      "RefNotPermitted",
    ],
    [
      "httproute-invalid-backendref-unknown-kind",
      "invalid-backend-ref-unknown-kind",
      "same-namespace",
      "Accepted",
      "True",
      "Accepted",
    ],
  ];
  it.each(rows)("%s: %s on %s has %s=%s %s", (test, route, gw, type, status, reason) => {
    const report = gatewayStatus(conformanceModel(test));
    const r = report.routes.find((x) => x.name === route);
    const parent = r?.parents.find((p) => p.parentRef.name === gw);
    expect(parent, JSON.stringify(r)).toBeDefined();
    expect(parent?.controllerName).toBe("knet.dev/gateway-controller");
    expect(cond(parent?.conditions, type)).toMatchObject({ status, reason });
  });

  it("a route not accepted counts toward no listener (GatewayMustHaveZeroRoutes)", () => {
    const report = gatewayStatus(conformanceModel("httproute-invalid-parentref-not-matching-section-name"));
    const gw = report.gateways.find((g) => g.name === "same-namespace");
    expect(gw?.listeners.map((l) => l.attachedRoutes)).toEqual([0]);
  });
});

describe("listener status (conformance status expectations)", () => {
  it("gateway-with-attached-routes: 1 and 2 attached routes, NoMatchingListenerHostname, attachment despite unresolved refs", () => {
    const report = gatewayStatus(conformanceModel("gateway-with-attached-routes"));
    const one = report.gateways.find((g) => g.name === "gateway-with-one-attached-route")?.listeners[0];
    expect(one).toMatchObject({
      name: "http",
      attachedRoutes: 1,
      supportedKinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }],
    });
    expect(cond(one?.conditions, "Accepted")?.status).toBe("True");
    expect(cond(one?.conditions, "ResolvedRefs")?.status).toBe("True");
    expect(
      report.gateways.find((g) => g.name === "gateway-with-two-attached-routes")?.listeners[0]?.attachedRoutes,
    ).toBe(2);
    const na = report.routes.find((r) => r.name === "http-route-not-accepted");
    expect(cond(na?.parents[0]?.conditions, "Accepted")).toMatchObject({
      status: "False",
      reason: "NoMatchingListenerHostname",
    });
    const unresolved = report.gateways.find((g) => g.name === "unresolved-gateway-with-one-attached-unresolved-route")
      ?.listeners[0];
    expect(unresolved?.attachedRoutes).toBe(1);
    expect(cond(unresolved?.conditions, "Programmed")?.status).toBe("False");
    expect(cond(unresolved?.conditions, "ResolvedRefs")?.status).toBe("False");
    const r4 = report.routes.find((r) => r.name === "http-route-4");
    expect(cond(r4?.parents[0]?.conditions, "ResolvedRefs")?.status).toBe("False");
  });

  it("gateway-invalid-route-kind: InvalidRouteKinds with and without a supported kind", () => {
    const report = gatewayStatus(conformanceModel("gateway-invalid-route-kind"));
    const only = report.gateways.find((g) => g.name === "gateway-only-invalid-route-kind")?.listeners[0];
    expect(only?.supportedKinds).toEqual([]);
    expect(cond(only?.conditions, "ResolvedRefs")).toMatchObject({ status: "False", reason: "InvalidRouteKinds" });
    const both = report.gateways.find((g) => g.name === "gateway-supported-and-invalid-route-kind")?.listeners[0];
    expect(both?.supportedKinds).toEqual([{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }]);
    expect(cond(both?.conditions, "ResolvedRefs")).toMatchObject({ status: "False", reason: "InvalidRouteKinds" });
    expect(both?.attachedRoutes).toBe(0);
  });

  it.each([
    ["gateway-secret-missing-reference-grant", "gateway-secret-missing-reference-grant", "False", "RefNotPermitted"],
    ["gateway-secret-invalid-reference-grant", "gateway-secret-invalid-reference-grant", "False", "RefNotPermitted"],
    ["gateway-secret-reference-grant-specific", "gateway-secret-reference-grant-specific", "True", "ResolvedRefs"],
    [
      "gateway-secret-reference-grant-all-in-namespace",
      "gateway-secret-reference-grant-all-in-namespace",
      "True",
      "ResolvedRefs",
    ],
  ] as const)("%s: listener ResolvedRefs %s %s", (test, gwName, status, reason) => {
    const report = gatewayStatus(conformanceModel(test, [secret("gateway-conformance-web-backend", "certificate")]));
    const l = report.gateways.find((g) => g.name === gwName)?.listeners[0];
    expect(cond(l?.conditions, "ResolvedRefs"), JSON.stringify(l)).toMatchObject({ status, reason });
    expect(cond(l?.conditions, "Programmed")?.status).toBe(status);
  });

  it("a missing certificate Secret is InvalidCertificateRef and the Gateway lists the listener as not valid", () => {
    const report = gatewayStatus(conformanceModel("gateway-secret-reference-grant-specific"));
    const gw = report.gateways.find((g) => g.name === "gateway-secret-reference-grant-specific");
    expect(cond(gw?.listeners[0]?.conditions, "ResolvedRefs")).toMatchObject({
      status: "False",
      reason: "InvalidCertificateRef",
    });
    expect(cond(gw?.conditions, "Accepted")).toMatchObject({ status: "False", reason: "ListenersNotValid" });
    expect(cond(gw?.conditions, "Programmed")).toMatchObject({ status: "False", reason: "Invalid" });
  });

  it("Gateways of another class get no status from knet", () => {
    const report = gatewayStatus(
      conformanceModel("httproute-simple-same-namespace", [
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: other, namespace: default}\nspec:\n  gatewayClassName: istio\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n",
      ]),
    );
    expect(report.gateways.map((g) => g.name)).not.toContain("other");
    expect(report.gateways.map((g) => g.name)).toContain("same-namespace");
  });
});

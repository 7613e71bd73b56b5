import type { Pod } from "@knet/k8s";
import {
  effectivePeerAuthentication,
  type MtlsModeSetting,
  mtlsModeFor,
  type PeerAuthentication,
  peerAuthenticationAdmits,
  validatePeerAuthentication,
} from "@knet/mesh";
import { describe, expect, it } from "vitest";

const pod: Pod = { metadata: { name: "web", namespace: "shop", labels: { app: "web" } } };

function pa(
  ns: string,
  name: string,
  mode: MtlsModeSetting | undefined,
  extra: { labels?: Record<string, string>; ports?: Record<string, MtlsModeSetting>; created?: string } = {},
): PeerAuthentication {
  return {
    apiVersion: "security.istio.io/v1beta1",
    kind: "PeerAuthentication",
    metadata: { name, namespace: ns, ...(extra.created ? { creationTimestamp: extra.created } : {}) },
    spec: {
      ...(mode !== undefined ? { mtls: { mode } } : {}),
      ...(extra.labels ? { selector: { matchLabels: extra.labels } } : {}),
      ...(extra.ports
        ? { portLevelMtls: Object.fromEntries(Object.entries(extra.ports).map(([p, m]) => [p, { mode: m }])) }
        : {}),
    },
  };
}

describe("PeerAuthentication composition (istiod's ComposePeerAuthentication)", () => {
  it.each<[string, PeerAuthentication[], string, string]>([
    ["no policy: PERMISSIVE", [], "PERMISSIVE", "{}"],
    ["mesh-wide", [pa("istio-system", "default", "STRICT")], "STRICT", '{"mesh":"istio-system/default"}'],
    [
      "namespace over mesh",
      [pa("istio-system", "default", "STRICT"), pa("shop", "ns", "PERMISSIVE")],
      "PERMISSIVE",
      '{"mesh":"istio-system/default","namespace":"shop/ns"}',
    ],
    [
      "workload over namespace",
      [pa("shop", "ns", "DISABLE"), pa("shop", "w", "STRICT", { labels: { app: "web" } })],
      "STRICT",
      '{"namespace":"shop/ns","workload":"shop/w"}',
    ],
    [
      "UNSET inherits from the wider scope",
      [
        pa("istio-system", "default", "STRICT"),
        pa("shop", "ns", "UNSET"),
        pa("shop", "w", undefined, { labels: { app: "web" } }),
      ],
      "STRICT",
      '{"mesh":"istio-system/default","namespace":"shop/ns","workload":"shop/w"}',
    ],
    ["another namespace's policy does not apply", [pa("other", "ns", "STRICT")], "PERMISSIVE", "{}"],
    ["a selector that does not match", [pa("shop", "w", "STRICT", { labels: { app: "db" } })], "PERMISSIVE", "{}"],
    [
      "a selector policy in the root namespace is not mesh-wide",
      [pa("istio-system", "sel", "STRICT", { labels: { app: "web" } })],
      "PERMISSIVE",
      "{}",
    ],
    [
      "the oldest of two namespace policies wins",
      [
        pa("shop", "b", "STRICT", { created: "2024-01-02T00:00:00Z" }),
        pa("shop", "a", "DISABLE", { created: "2024-01-03T00:00:00Z" }),
      ],
      "STRICT",
      '{"namespace":"shop/b"}',
    ],
  ])("%s", (_name, policies, mode, from) => {
    const e = effectivePeerAuthentication(pod, policies);
    expect(e.mode).toBe(mode);
    expect(JSON.stringify(e.from)).toBe(from);
  });

  it("port-level modes come from the workload policy; UNSET there inherits the workload's mode", () => {
    const e = effectivePeerAuthentication(pod, [
      pa("istio-system", "default", "STRICT"),
      pa("shop", "w", "PERMISSIVE", { labels: { app: "web" }, ports: { "9090": "DISABLE", "8443": "UNSET" } }),
    ]);
    expect([mtlsModeFor(e, 9090), mtlsModeFor(e, 8443), mtlsModeFor(e, 8080)]).toEqual([
      "DISABLE",
      "PERMISSIVE",
      "PERMISSIVE",
    ]);
  });

  it.each([
    ["STRICT", true, true],
    ["STRICT", false, false],
    ["PERMISSIVE", true, true],
    ["PERMISSIVE", false, true],
    ["DISABLE", false, true],
    ["DISABLE", true, false],
  ] as const)("%s admits mTLS=%s: %s", (mode, mtls, admitted) => {
    expect(peerAuthenticationAdmits(mode, mtls).admitted).toBe(admitted);
  });

  it("validates as istiod does", () => {
    expect(validatePeerAuthentication(pa("shop", "x", "STRICT"))).toEqual([]);
    const bad = validatePeerAuthentication({
      ...pa("shop", "x", "STRICT", { ports: { "0": "STRICT" } }),
      spec: { mtls: { mode: "STRICTER" as never }, portLevelMtls: { "0": { mode: "STRICT" } } },
    });
    expect(bad.map((p) => p.field)).toEqual(["spec.mtls.mode", "spec.portLevelMtls", "spec.portLevelMtls[0]"]);
    expect(bad[1]?.message).toMatch(/cannot have port level mTLS/);
  });
});

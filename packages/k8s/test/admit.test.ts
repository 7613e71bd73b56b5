import {
  admitManifests,
  ClusterState,
  defaultService,
  formatProblem,
  hasControllerSlices,
  type Service,
} from "@knet/k8s";
import { describe, expect, it } from "vitest";

const svc = (spec: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec:\n${spec}`;

describe("nulls read as the API server decodes them", () => {
  it.each([
    // [manifest, problems (formatted) or [] when the object is kept]
    [svc("  selector:\n  ports: [{port: 80}]\n"), []],
    [svc("  selector: {app: null}\n  ports: [{port: 80}]\n"), []],
    [svc("  ports: [null]\n"), ["document 1 (line 5): Service shop/s: spec.ports[0].port: Required value"]],
    [
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: shop}\naddressType: IPv4\nendpoints: [null]\n",
      [
        "document 1 (line 5): EndpointSlice shop/e: endpoints[0].addresses: Required value: must contain at least 1 address",
      ],
    ],
    [
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: shop}\naddressType: IPv4\nendpoints: [{addresses: [null]}]\n",
      [
        'document 1 (line 5): EndpointSlice shop/e: endpoints[0].addresses[0]: Invalid value: "": must be a valid IP address',
      ],
    ],
    [
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: x}]}\nstatus: {conditions: x}\n",
      ['document 1 (line 5): Pod shop/p: status.conditions: Invalid type: expected array, got string "x"'],
    ],
  ] as const)("%s", (text, want) => {
    const r = admitManifests(text);
    expect(r.problems.map(formatProblem)).toEqual(want);
    expect(r.objects).toHaveLength(want.length === 0 ? 1 : 0);
    expect(r.dropped).toHaveLength(want.length === 0 ? 0 : 1);
    for (const o of r.objects) expect(JSON.stringify(o)).not.toContain("null");
  });

  it("keeps the first of two objects with one name and drops the second with a duplicate problem", () => {
    const one = svc("  clusterIP: 10.96.0.5\n  ports: [{port: 80}]\n");
    const r = admitManifests({ name: "f.yaml", text: `${one}---\n${one}` });
    expect(r.objects).toHaveLength(1);
    expect(r.dropped.map((d) => d.problems.map((p) => p.field))).toEqual([["metadata.name"]]);
  });

  it("an undefaulted Service with a null selector is selectorless everywhere, not a TypeError", () => {
    const raw = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { selector: null, ports: [{ port: 80 }] },
    };
    expect(hasControllerSlices(raw as unknown as Service)).toBe(false);
    expect(defaultService(raw as unknown as Service).spec).not.toHaveProperty("selector");
    const state = new ClusterState({ applyDefaults: false });
    expect(() => state.apply(raw as unknown as Service & { kind: "Service" })).not.toThrow();
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KIND_API_VERSIONS, type KubeKind, loadManifests, serializeManifests, validateManifests } from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const kinds = Object.keys(KIND_API_VERSIONS) as KubeKind[];
const junk = fc.anything({ maxDepth: 3, withNullPrototype: false, withObjectString: false });
// Documents of a known kind whose fields are random JSON (wrong types, nulls, nesting).
const docArb = fc.constantFrom(...kinds).chain((kind) =>
  fc.record({
    apiVersion: fc.constant(KIND_API_VERSIONS[kind]),
    kind: fc.constant(kind),
    metadata: fc.oneof(
      fc.record({ name: fc.oneof(fc.constant("x"), junk), namespace: junk, labels: junk }, { requiredKeys: [] }),
      junk,
    ),
    spec: fc.oneof(
      fc.dictionary(
        fc.constantFrom(
          "ports",
          "selector",
          "podSelector",
          "ingress",
          "egress",
          "clusterIP",
          "containers",
          "type",
          "subject",
          "policyTypes",
        ),
        junk,
      ),
      fc.constant(undefined),
    ),
    endpoints: junk,
    ports: junk,
    addressType: junk,
    status: junk,
  }),
);

describe("robustness", () => {
  it("validateManifests never throws on malformed objects of known kinds, and names each problem's field", () => {
    fc.assert(
      fc.property(fc.array(docArb, { maxLength: 3 }), (docs) => {
        const r = validateManifests(JSON.stringify({ apiVersion: "v1", kind: "List", items: docs }));
        for (const p of r.problems) {
          expect(typeof p.field).toBe("string");
          expect(p.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("every fixture round-trips through YAML and JSON", () => {
    const dir = join(import.meta.dirname, "../../../examples/manifests");
    for (const file of ["demo-cluster.yaml", "selectorless-endpointslice.yaml", "netpol-ipblock-except.yaml"]) {
      const objs = loadManifests(readFileSync(join(dir, file), "utf8"));
      expect(loadManifests(serializeManifests(objs, "yaml"))).toEqual(objs);
      expect(loadManifests(serializeManifests(objs, "json"))).toEqual(objs);
    }
  });
});

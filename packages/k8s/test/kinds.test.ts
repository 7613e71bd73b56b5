import {
  defaultObject,
  type ExtensionObject,
  isNamespacedKind,
  KindRegistryError,
  kindDefinition,
  parseManifests,
  registerKind,
  validateManifests,
} from "@knet/k8s";
import { describe, expect, it } from "vitest";

interface Widget extends ExtensionObject {
  readonly spec?: { readonly size?: number; readonly color?: string };
}

registerKind<Widget>({
  apiVersion: "example.knet.dev/v1",
  kind: "Widget",
  namespaced: true,
  shape: (o) =>
    o.spec !== undefined && typeof (o.spec as { size?: unknown }).size !== "number"
      ? [{ code: "shape", field: "spec.size", message: "must be a number" }]
      : [],
  defaults: (o) => ({ ...o, spec: { color: "blue", ...o.spec } }),
  validate: (o) =>
    (o.spec?.size ?? 0) > 10 ? [{ code: "invalid", field: "spec.size", message: "must be at most 10" }] : [],
});

const doc = (name: string, spec: string) =>
  `apiVersion: example.knet.dev/v1\nkind: Widget\nmetadata: {name: ${name}, namespace: ns1}\nspec: ${spec}\n`;

describe("the kind registry", () => {
  it("knows the built-in kinds and their scope", () => {
    expect(kindDefinition("Service")?.apiVersion).toBe("v1");
    expect(isNamespacedKind("Service")).toBe(true);
    expect(isNamespacedKind("Node")).toBe(false);
    expect(isNamespacedKind("ConfigMap")).toBeUndefined();
  });

  it("loads a registered kind as an extension object, with its shape check", () => {
    const r = parseManifests(`${doc("a", "{size: 3}")}---\n${doc("b", "{size: big}")}`);
    expect(r.objects).toHaveLength(0);
    expect(r.extensions.map((e) => e.object.metadata?.name)).toEqual(["a"]);
    expect(r.problems).toEqual([
      expect.objectContaining({
        code: "shape",
        field: "spec.size",
        object: { kind: "Widget", namespace: "ns1", name: "b" },
      }),
    ]);
  });

  it("defaults and validates a registered kind through its definition", () => {
    const r = validateManifests(`${doc("a", "{size: 3}")}---\n${doc("b", "{size: 30}")}---\n${doc("a", "{size: 1}")}`);
    expect((r.extensions[0]?.object as Widget | undefined)?.spec?.color).toBe("blue");
    expect(r.problems.map((p) => `${p.code} ${p.field}`)).toEqual(["invalid spec.size", "duplicate metadata.name"]);
    expect(r.counts.get("Widget")).toBe(3);
    expect(defaultObject<Widget>({ apiVersion: "example.knet.dev/v1", kind: "Widget" }).spec?.color).toBe("blue");
  });

  it("still reports kinds nobody registered, and refuses to redefine one", () => {
    const r = parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    expect(r.problems[0]?.code).toBe("unknown-kind");
    expect(r.problems[0]?.message).toContain("Widget");
    expect(() => registerKind({ apiVersion: "v2", kind: "Service", namespaced: true })).toThrow(KindRegistryError);
    expect(() => registerKind({ apiVersion: "example.knet.dev/v2", kind: "Widget", namespaced: true })).toThrow(
      /already registered/,
    );
  });
});

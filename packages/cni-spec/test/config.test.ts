import {
  CniError,
  loadCniArgs,
  negotiateVersion,
  parseCniArgs,
  parseNetConfList,
  parseNetworkConfig,
} from "@knet/cni-spec";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const codeOf = (f: () => unknown): { code: number; field: string | undefined; message: string } => {
  try {
    f();
  } catch (e) {
    if (e instanceof CniError) return { code: e.code, field: e.field, message: e.message };
    throw e;
  }
  throw new Error("did not throw");
};

describe("parseNetConfList", () => {
  const good = {
    cniVersion: "1.0.0",
    name: "k8s-pod-network",
    plugins: [{ type: "bridge" }, { type: "portmap", capabilities: { portMappings: true } }],
  };

  it("accepts a list and keeps unknown keys", () => {
    const l = parseNetConfList(
      JSON.stringify({ ...good, plugins: [{ type: "bridge", bridge: "cni0", custom: { a: 1 } }] }),
    );
    expect(l.name).toBe("k8s-pod-network");
    expect(l.effectiveVersion).toBe("1.0.0");
    expect(l.plugins[0]?.custom).toEqual({ a: 1 });
    expect(l.disableCheck).toBe(false);
  });

  it("names the bad field with code 7 (6 for bad JSON)", () => {
    expect(codeOf(() => parseNetConfList("{"))).toMatchObject({ code: 6 });
    expect(codeOf(() => parseNetConfList(JSON.stringify({ ...good, name: "a b" })))).toMatchObject({
      code: 7,
      field: "name",
    });
    expect(
      codeOf(() => parseNetConfList(JSON.stringify({ ...good, plugins: [{ type: "bridge" }, {}] }))),
    ).toMatchObject({
      code: 7,
      field: "plugins[1].type",
    });
    expect(
      codeOf(() => parseNetConfList(JSON.stringify({ ...good, plugins: [{ type: "../../bin/sh" }] }))),
    ).toMatchObject({
      code: 7,
      field: "plugins[0].type",
    });
    expect(
      codeOf(() => parseNetConfList(JSON.stringify({ ...good, plugins: [{ type: "x", capabilities: { a: "yes" } }] }))),
    ).toMatchObject({
      field: "plugins[0].capabilities.a",
    });
    expect(codeOf(() => parseNetConfList(JSON.stringify({ ...good, disableCheck: "maybe" })))).toMatchObject({
      field: "disableCheck",
    });
    expect(codeOf(() => parseNetConfList(JSON.stringify({ ...good, cniVersions: ["1.0.0", "x.y"] })))).toMatchObject({
      field: "cniVersions[1]",
    });
    expect(codeOf(() => parseNetConfList(JSON.stringify({ ...good, plugins: [] })))).toMatchObject({
      field: "plugins",
    });
  });

  it("disableCheck accepts booleans and the strings true/false in any case", () => {
    expect(parseNetConfList(JSON.stringify({ ...good, disableCheck: "TRUE" })).disableCheck).toBe(true);
    expect(parseNetConfList(JSON.stringify({ ...good, disableGC: true })).disableGC).toBe(true);
  });

  it("picks the highest supported version of cniVersion and cniVersions", () => {
    const l = parseNetConfList(
      JSON.stringify({ ...good, cniVersion: "0.4.0", cniVersions: ["1.0.0", "1.1.0", "2.0.0"] }),
    );
    expect(l.effectiveVersion).toBe("1.1.0");
    expect(negotiateVersion({ cniVersion: "0.4.0", cniVersions: ["1.0.0", "1.1.0"] }, "1.0.0")).toBe("1.0.0");
    expect(
      negotiateVersion({ cniVersion: "1.1.0", cniVersions: ["0.4.0", "1.0.0"] }, "1.1.0", [["0.4.0", "1.0.0"]]),
    ).toBe("1.0.0");
    expect(codeOf(() => negotiateVersion({ cniVersion: "2.0.0" })).code).toBe(1);
  });

  it("negotiation returns the maximum candidate not above the runtime's version (property)", () => {
    const ver = fc.tuple(fc.nat(2), fc.nat(4), fc.nat(3)).map((p) => p.join("."));
    fc.assert(
      fc.property(ver, fc.array(ver, { maxLength: 5 }), (v, vs) => {
        const all = [v, ...vs].filter((x) => cmp(x, "1.1.0") <= 0);
        if (all.length === 0) return;
        const got = negotiateVersion({ cniVersion: v, cniVersions: vs });
        expect(all).toContain(got);
        for (const x of all) expect(cmp(x, got)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it("a single .conf is wrapped as a one-plugin list", () => {
    const l = parseNetworkConfig(JSON.stringify({ cniVersion: "0.3.1", name: "n", type: "bridge", bridge: "br0" }));
    expect(l.plugins).toHaveLength(1);
    expect(l.plugins[0]?.type).toBe("bridge");
    expect(l.effectiveVersion).toBe("0.3.1");
  });
});

function cmp(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

describe("CNI_ARGS", () => {
  it("parses K=V pairs and rejects parts that are not exactly K=V", () => {
    expect(parseCniArgs("IP=10.0.0.5;K8S_POD_NAME=p")).toEqual([
      ["IP", "10.0.0.5"],
      ["K8S_POD_NAME", "p"],
    ]);
    expect(() => parseCniArgs("IP")).toThrow('ARGS: invalid pair "IP"');
    expect(() => parseCniArgs("A=b=c")).toThrow('ARGS: invalid pair "A=b=c"');
  });

  it("loadCniArgs: unknown keys fail unless IgnoreUnknown, keys are case-sensitive (libcni texts)", () => {
    expect(() => loadCniArgs("K8S_POD_NAME=p", ["IP"])).toThrow('ARGS: unknown args ["K8S_POD_NAME=p"]');
    expect(() => loadCniArgs("ip=10.0.0.9", ["IP"])).toThrow('ARGS: unknown args ["ip=10.0.0.9"]');
    expect(loadCniArgs("IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.0.0.9", ["IP"]).get("IP")).toBe("10.0.0.9");
    expect(loadCniArgs("IgnoreUnknown=TRUE;x=y", []).size).toBe(0);
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { iptablesCapture, nftablesCapture } from "@knet/mesh";
import { describe, expect, it } from "vitest";
import { BASE, CASES } from "./golden-cases.js";

/** Verbatim copies of istio's testdata (see fixtures/istio/README.md). */
const GOLDEN = join(import.meta.dirname, "fixtures", "istio");

const goldenNames = (dir: string): string[] =>
  readdirSync(join(GOLDEN, dir))
    .filter((f) => f.endsWith(".golden"))
    .map((f) => f.replace(/\.golden$/, ""))
    .sort();

describe("istio-iptables --dry-run, byte for byte against istio's golden files", () => {
  const cases = CASES.filter((c) => c.nftOnly !== true);
  it("covers every iptables golden file (27) with one of run_test.go's configurations", () => {
    expect(cases.map((c) => c.name).sort()).toEqual(goldenNames("iptables"));
    expect(cases).toHaveLength(27);
  });
  it.each(cases)("$name", ({ name, config }) => {
    const want = readFileSync(join(GOLDEN, "iptables", `${name}.golden`), "utf8");
    expect(iptablesCapture({ ...BASE, ...config }).dryRun).toBe(want);
  });
});

describe("istio-nftables transaction, byte for byte against istio's golden files", () => {
  it("covers every nftables golden file (28) with one of run_test.go's configurations", () => {
    expect(CASES.map((c) => c.name).sort()).toEqual(goldenNames("nftables"));
    expect(CASES).toHaveLength(28);
  });
  it.each(CASES)("$name", ({ name, config }) => {
    const want = readFileSync(join(GOLDEN, "nftables", `${name}.golden`), "utf8");
    expect(nftablesCapture({ ...BASE, ...config }).script).toBe(want);
  });
});

import { compileNft, PolicyEngine, reachability } from "@knet/netpol";
import { hasCommand, isRoot } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES, MODEL, PODS, stateOf } from "./e2e-cases.js";
import { Lab } from "./kernel/lab.js";

const show = (m: boolean[][]): string =>
  m.map((r, i) => `${PODS[i]} ${r.map((v) => (v ? "." : "X")).join("")}`).join("\n");

describe.skipIf(!isRoot || !hasCommand("nft"))("compiled nftables enforced by the kernel == evaluator", () => {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await Lab.create(MODEL.pods, [80, 81]);
  });
  afterAll(() => {
    lab?.destroy();
  });

  it("without policies every pair connects (harness sanity)", async () => {
    const l = lab as Lab;
    l.load(compileNft(new PolicyEngine({ namespaces: MODEL.namespaces, pods: MODEL.pods })).text);
    for (const port of [
      { port: 80, protocol: "TCP" as const },
      { port: 81, protocol: "UDP" as const },
    ]) {
      const m = await l.matrix(port);
      expect(m.flat().every(Boolean)).toBe(true);
    }
  });

  // SCTP steps are left out: this kernel's sctp module is not assumed (see README).
  const steps = CASES.flatMap((c) => c.steps.filter((s) => s.port.protocol !== "SCTP").map((s, n) => ({ c, s, n })));
  it(`upstream e2e cases: ${steps.length} steps, kernel matrix == evaluator matrix == expected`, async () => {
    const l = lab as Lab;
    const failures: string[] = [];
    for (const { c, s, n } of steps) {
      const engine = new PolicyEngine({ ...stateOf(s), networkPolicies: s.policies });
      const nft = compileNft(engine);
      l.load(nft.text);
      const kernel = await l.matrix(s.port);
      const evaluated = reachability(engine, { ports: [s.port], pods: PODS }).allowed[
        `${s.port.port}/${s.port.protocol}`
      ] as boolean[][];
      if (show(kernel) !== show(evaluated) || show(kernel) !== show(s.expected)) {
        failures.push(
          `#${c.id} step ${n} ${s.port.port}/${s.port.protocol}\nkernel:\n${show(kernel)}\nevaluator:\n${show(evaluated)}\nexpected:\n${show(s.expected)}\n${l.ruleset(nft.table)}`,
        );
      }
    }
    expect(failures.join("\n\n")).toBe("");
  });
});

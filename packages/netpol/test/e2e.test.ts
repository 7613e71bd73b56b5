import { PolicyEngine, reachability } from "@knet/netpol";
import { describe, expect, it } from "vitest";
import { CASES, PODS, stateOf } from "./e2e-cases.js";

function show(m: boolean[][]): string {
  return m.map((r, i) => `${PODS[i]} ${r.map((v) => (v ? "." : "X")).join("")}`).join("\n");
}

describe("upstream e2e cases (test/e2e/network/netpol) in the evaluator", () => {
  it("covers the tabulated cases", () => {
    const ids = new Set(CASES.map((c) => c.id));
    for (let i = 1; i <= 41; i++) expect(ids.has(i), `case ${i}`).toBe(true);
  });
  for (const c of CASES) {
    it(`#${c.id} ${c.name}`, () => {
      c.steps.forEach((step, n) => {
        const engine = new PolicyEngine({ ...stateOf(step), networkPolicies: step.policies });
        const got = reachability(engine, { ports: [step.port], pods: PODS }).allowed[
          `${step.port.port}/${step.port.protocol}`
        ];
        expect(show(got as boolean[][]), `step ${n} ${step.port.port}/${step.port.protocol}`).toBe(show(step.expected));
      });
    });
  }
});

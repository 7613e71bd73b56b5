import {
  compileSelector,
  formatSelector,
  type LabelSelector,
  type LabelSelectorRequirement,
  matchLabelMap,
  matchSelector,
  SelectorError,
  selectorMatches,
} from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** The reference: a literal transcription of the documented rules, no compilation. */
function reference(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (sel === undefined) return false;
  for (const k of Object.keys(sel.matchLabels ?? {})) {
    if (!(k in labels) || labels[k] !== sel.matchLabels?.[k]) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.keys(labels).includes(e.key);
    const v = labels[e.key];
    const vals = e.values ?? [];
    if (e.operator === "In" && !(has && vals.includes(v as string))) return false;
    if (e.operator === "NotIn" && has && vals.includes(v as string)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const key = fc.constantFrom("app", "tier", "env", "k8s.io/zone", "x");
const value = fc.constantFrom("", "a", "b", "web", "db");
const labelsArb = fc.dictionary(key, value, { maxKeys: 5 });
const exprArb: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
  fc.record({
    key,
    operator: fc.constantFrom("In", "NotIn"),
    values: fc.uniqueArray(value, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ key, operator: fc.constantFrom("Exists", "DoesNotExist") }),
);
const selectorArb: fc.Arbitrary<LabelSelector | undefined> = fc.option(
  fc.record(
    { matchLabels: fc.dictionary(key, value, { maxKeys: 3 }), matchExpressions: fc.array(exprArb, { maxLength: 4 }) },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

describe("matchSelector", () => {
  it("equals the reference implementation on random selectors and labels", () => {
    fc.assert(
      fc.property(selectorArb, labelsArb, (sel, labels) => {
        expect(matchSelector(sel, labels)).toBe(reference(sel, labels));
      }),
      { numRuns: 3000 },
    );
  });

  it("treats {} as everything and an absent selector as nothing", () => {
    expect(matchSelector({}, {})).toBe(true);
    expect(matchSelector({}, { a: "b" })).toBe(true);
    expect(matchSelector(undefined, { a: "b" })).toBe(false);
    expect(matchSelector(null, {})).toBe(false);
  });

  it("matches NotIn and DoesNotExist on a missing key, but not In/Exists", () => {
    expect(matchSelector({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, {})).toBe(true);
    expect(matchSelector({ matchExpressions: [{ key: "env", operator: "DoesNotExist" }] }, {})).toBe(true);
    expect(matchSelector({ matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }] }, {})).toBe(false);
    expect(matchSelector({ matchExpressions: [{ key: "env", operator: "Exists" }] }, {})).toBe(false);
    // An empty value is a present key.
    expect(selectorMatches({ matchExpressions: [{ key: "env", operator: "Exists" }] }, { env: "" })).toBe(true);
  });

  it("does not see inherited properties as labels", () => {
    expect(matchSelector({ matchExpressions: [{ key: "toString", operator: "Exists" }] }, {})).toBe(false);
    expect(matchLabelMap({ constructor: "x" }, {})).toBe(false);
  });

  it("rejects unknown operators and misplaced values with the field", () => {
    expect(() => compileSelector({ matchExpressions: [{ key: "a", operator: "Gt", values: ["1"] }] })).toThrow(
      SelectorError,
    );
    try {
      compileSelector({
        matchExpressions: [
          { key: "a", operator: "Exists" },
          { key: "b", operator: "In" },
        ],
      });
      expect.unreachable();
    } catch (e) {
      expect((e as SelectorError).field).toBe("matchExpressions[1].values");
    }
  });

  it("formats like kubectl", () => {
    expect(
      formatSelector({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["b", "a"] },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("app=web,!legacy,tier in (a,b)");
    expect(formatSelector(undefined)).toBe("<none>");
  });
});

/**
 * Label selectors with apimachinery's semantics (`labels.Selector` built by
 * `metav1.LabelSelectorAsSelector`): matchLabels and matchExpressions are ANDed,
 * `{}` matches everything, an absent selector matches nothing, `NotIn` and
 * `DoesNotExist` match a missing key, `In` and `Exists` need the key.
 */
import type { LabelSelector, LabelSelectorRequirement } from "./objects.js";

/** Labels as stored in `metadata.labels`. */
export type Labels = Readonly<Record<string, string>>;

/** A label-selector operator as LabelSelector allows it. */
export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

/** One requirement of a compiled selector. */
export interface Requirement {
  /** The label key. */
  readonly key: string;
  /** The operator. */
  readonly operator: SelectorOperator;
  /** The allowed (In) or forbidden (NotIn) values; empty for Exists/DoesNotExist. */
  readonly values: ReadonlySet<string>;
}

/** A selector turned into requirements, ready to test many label sets. */
export interface CompiledSelector {
  /** True for the absent selector, which selects nothing. */
  readonly nothing: boolean;
  /** The ANDed requirements (matchLabels become `In` with one value), sorted by key. */
  readonly requirements: readonly Requirement[];
  /** Whether `labels` satisfy every requirement. */
  matches(labels: Labels | undefined): boolean;
}

/** A selector that cannot be compiled (an unknown operator, or values that do not fit it). */
export class SelectorError extends Error {
  override readonly name = "SelectorError";
  /** Field path of the offending part, relative to the selector (e.g. `matchExpressions[1].operator`). */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const hasOwn = Object.prototype.hasOwnProperty;

function requirementMatches(r: Requirement, labels: Labels): boolean {
  const present = hasOwn.call(labels, r.key);
  switch (r.operator) {
    case "In":
      return present && r.values.has(labels[r.key] as string);
    case "NotIn":
      return !present || !r.values.has(labels[r.key] as string);
    case "Exists":
      return present;
    case "DoesNotExist":
      return !present;
  }
}

function expressionToRequirement(e: LabelSelectorRequirement, i: number): Requirement {
  const at = `matchExpressions[${i}]`;
  const values = e.values ?? [];
  switch (e.operator) {
    case "In":
    case "NotIn":
      if (values.length === 0)
        throw new SelectorError(`${at}.values`, `must be specified when operator is ${e.operator}`);
      return { key: e.key, operator: e.operator, values: new Set(values) };
    case "Exists":
    case "DoesNotExist":
      if (values.length > 0)
        throw new SelectorError(`${at}.values`, `may not be specified when operator is ${e.operator}`);
      return { key: e.key, operator: e.operator, values: EMPTY };
    default:
      throw new SelectorError(
        `${at}.operator`,
        `unsupported operator ${JSON.stringify(e.operator)}: use In, NotIn, Exists or DoesNotExist`,
      );
  }
}

/**
 * Compile a LabelSelector once for testing many label sets. `undefined`/`null`
 * compiles to a selector that matches nothing (as apimachinery), `{}` to one that
 * matches everything. Results are cached per selector object, so calling this (or
 * `matchSelector`) in a loop with the same selector is cheap; selectors are
 * treated as immutable (build a new object instead of editing one).
 *
 * @throws {@link SelectorError} for an unknown operator or values that do not fit it.
 */
export function compileSelector(selector: LabelSelector | null | undefined): CompiledSelector {
  if (selector === undefined || selector === null) return NOTHING;
  const cached = cache.get(selector);
  if (cached !== undefined) return cached;
  const compiled = compile(selector);
  cache.set(selector, compiled);
  return compiled;
}

const NOTHING: CompiledSelector = { nothing: true, requirements: [], matches: () => false };
/** Compiled selectors by object identity: selectors are data and treated as immutable. */
const cache = new WeakMap<LabelSelector, CompiledSelector>();

function compile(selector: LabelSelector): CompiledSelector {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    reqs.push({ key, operator: "In", values: new Set([value]) });
  }
  (selector.matchExpressions ?? []).forEach((e, i) => {
    reqs.push(expressionToRequirement(e, i));
  });
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const matches = (labels: Labels | undefined): boolean => {
    const l = labels ?? {};
    for (const r of reqs) if (!requirementMatches(r, l)) return false;
    return true;
  };
  return { nothing: false, requirements: reqs, matches };
}

/**
 * Whether `labels` match a LabelSelector (matchLabels AND matchExpressions).
 * An absent selector matches nothing; `{}` matches everything. Compile once with
 * {@link compileSelector} when testing many label sets.
 *
 * @throws {@link SelectorError} for an invalid selector.
 */
export function matchSelector(selector: LabelSelector | null | undefined, labels: Labels | undefined): boolean {
  return compileSelector(selector).matches(labels);
}

/** Same as {@link matchSelector} (an alias under the name engines may expect). */
export const selectorMatches: (selector: LabelSelector | null | undefined, labels: Labels | undefined) => boolean =
  matchSelector;

/**
 * Whether `labels` match a Service's `spec.selector` map (every key present with
 * equal value). Note the Service rule: an empty or absent map selects **no** pods
 * for the EndpointSlice controller, which leaves such services to user slices;
 * this function itself treats `{}` as "everything", so check emptiness first.
 */
export function matchLabelMap(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (selector === undefined) return true;
  const l = labels ?? {};
  for (const key in selector) {
    if (!hasOwn.call(l, key) || l[key] !== selector[key]) return false;
  }
  return true;
}

/** Convert a Service-style label map into the equivalent LabelSelector. */
export function selectorFromLabelMap(map: Labels): LabelSelector {
  return { matchLabels: { ...map } };
}

/**
 * Format a selector the way kubectl prints it (`app=web,tier in (a,b),!legacy`);
 * `<none>` for the absent selector, `""` for `{}`.
 */
export function formatSelector(selector: LabelSelector | null | undefined): string {
  const c = compileSelector(selector);
  if (c.nothing) return "<none>";
  return c.requirements
    .map((r) => {
      const vs = [...r.values].sort();
      switch (r.operator) {
        case "In":
          return vs.length === 1 ? `${r.key}=${vs[0]}` : `${r.key} in (${vs.join(",")})`;
        case "NotIn":
          return `${r.key} notin (${vs.join(",")})`;
        case "Exists":
          return r.key;
        case "DoesNotExist":
          return `!${r.key}`;
      }
      return "";
    })
    .join(",");
}

/**
 * Nulls as the API server's JSON decoding reads them: a `null` field is the same as
 * an absent one (`selector:` with no value selects nothing, as no selector), a
 * `null` element of a list of objects is an empty object (`ports: [null]` is a port
 * with every field unset, which validation then reports), a `null` element of a
 * list of strings is `""`, and a `null` value in a string map is `""`. Walks only
 * the fields the kind's schema has; unknown fields are left to the unknown-field check.
 */
import type { KubeKind } from "../objects.js";
import { cloneJson } from "./json.js";
import { schemaFields, schemaRoot } from "./unknown-fields.js";

/** Leaf lists of strings in the kinds knet reads (other leaf lists keep their nulls, which validation reports). */
const STRING_LISTS = new Set([
  "addresses",
  "clusterIPs",
  "externalIPs",
  "ipFamilies",
  "loadBalancerSourceRanges",
  "policyTypes",
  "values",
  "except",
  "podCIDRs",
  "finalizers",
  "networks",
  "domainNames",
  "args",
  "command",
  "searches",
  "nameservers",
]);
/** Leaf string maps. */
const STRING_MAPS = new Set(["labels", "annotations", "selector", "matchLabels", "nodeSelector"]);

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** A copy of `v` (of schema type `type`) with its nulls decoded, in one pass. */
function cloneAs(v: Record<string, unknown>, type: string): Record<string, unknown> {
  const fields = schemaFields(type);
  if (fields === undefined) return cloneJson(v);
  const out: Record<string, unknown> = {};
  for (const key in v) {
    const x = v[key];
    if (typeof x !== "object" && key !== "__proto__") {
      out[key] = x; // a scalar: nothing to decode or copy
      continue;
    }
    const ref = fields.get(key);
    if (ref === undefined) {
      put(out, key, cloneJson(x));
      continue;
    }
    if (x === null) continue; // null reads as absent
    if (ref === 0) {
      if (Array.isArray(x) && STRING_LISTS.has(key))
        put(
          out,
          key,
          x.map((s) => (s === null ? "" : cloneJson(s))),
        );
      else if (STRING_MAPS.has(key) && isPlain(x)) {
        const m: Record<string, unknown> = {};
        for (const k in x) put(m, k, x[k] === null ? "" : cloneJson(x[k]));
        put(out, key, m);
      } else put(out, key, cloneJson(x));
    } else if (typeof ref === "string") {
      put(out, key, isPlain(x) ? cloneAs(x, ref) : cloneJson(x));
    } else if (Array.isArray(x)) {
      const item = ref[0];
      put(
        out,
        key,
        x.map((e) => (e === null ? {} : isPlain(e) ? cloneAs(e, item) : cloneJson(e))),
      );
    } else put(out, key, cloneJson(x));
  }
  return out;
}

/**
 * A copy of `obj`, an object of `kind`, with nulls read as the API server's decoder
 * reads them (see the module comment). Anything else is copied as it is.
 */
export function cloneDecoded<T>(obj: T, kind: KubeKind): T {
  const root = schemaRoot(kind);
  if (root === undefined || !isPlain(obj)) return cloneJson(obj);
  return cloneAs(obj, root) as T;
}

/**
 * Nulls as the API server's JSON decoding reads them: a `null` field is the same as
 * an absent one (`selector:` with no value selects nothing, as no selector), a
 * `null` element of a list of objects is an empty object (`ports: [null]` is a port
 * with every field unset, which validation then reports), a `null` element of a
 * list of strings is `""`, and a `null` value in a string map is `""`. Walks only
 * the fields the kind's schema has; unknown fields are left to the unknown-field check.
 */
import type { KubeKind } from "../objects.js";
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

type Ref = 0 | string | readonly [string];

/** Decode nulls in place. */
function decode(v: Record<string, unknown>, type: string): void {
  const fields = schemaFields(type);
  if (fields === undefined) return;
  for (const key of Object.keys(v)) {
    if (!Object.hasOwn(fields, key)) continue;
    const x = v[key];
    if (x === null) {
      delete v[key];
      continue;
    }
    const ref = fields[key] as Ref;
    if (ref === 0) {
      if (Array.isArray(x) && STRING_LISTS.has(key)) v[key] = x.map((s) => (s === null ? "" : s));
      else if (STRING_MAPS.has(key) && typeof x === "object" && !Array.isArray(x)) {
        const m = x as Record<string, unknown>;
        for (const k of Object.keys(m)) if (m[k] === null) m[k] = "";
      }
    } else if (typeof ref === "string") {
      if (typeof x === "object" && !Array.isArray(x)) decode(x as Record<string, unknown>, ref);
    } else if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        if (x[i] === null) x[i] = {};
        else if (typeof x[i] === "object" && !Array.isArray(x[i])) decode(x[i] as Record<string, unknown>, ref[0]);
      }
    }
  }
}

/** Decode the nulls of `obj`, an object of `kind`, in place (pass a copy). */
export function decodeNulls(obj: unknown, kind: KubeKind): void {
  const root = schemaRoot(kind);
  if (root !== undefined && typeof obj === "object" && obj !== null && !Array.isArray(obj))
    decode(obj as Record<string, unknown>, root);
}

/** Validation of metadata, labels and label selectors, shared by every kind. */
import {
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  type Problems,
  qualifiedNameErrors,
} from "./checks.js";

/** How an object's name is checked. */
export type NameRule = "dns1123-label" | "dns1123-subdomain" | "dns1035-label";

const NAME_CHECKS: Record<NameRule, (s: string) => string[]> = {
  "dns1123-label": dns1123LabelErrors,
  "dns1123-subdomain": dns1123SubdomainErrors,
  "dns1035-label": dns1035LabelErrors,
};

/** Validate `metadata`: name (or generateName), namespace (for namespaced kinds), labels. */
export function validateMeta(obj: Record<string, unknown>, p: Problems, namespaced: boolean, nameRule: NameRule): void {
  const md = p.obj(obj.metadata, "metadata");
  if (md === undefined) {
    p.required("metadata.name", "name or generateName is required");
    return;
  }
  const name = p.str(md.name, "metadata.name");
  const generateName = p.str(md.generateName, "metadata.generateName");
  if (name === undefined || name === "") {
    if (generateName === undefined || generateName === "")
      p.required("metadata.name", "name or generateName is required");
  } else {
    p.invalid("metadata.name", name, NAME_CHECKS[nameRule](name));
  }
  const ns = p.str(md.namespace, "metadata.namespace");
  if (namespaced) {
    if (ns !== undefined && ns !== "") p.invalid("metadata.namespace", ns, dns1123LabelErrors(ns));
  } else if (ns !== undefined && ns !== "") {
    p.forbidden("metadata.namespace", "not allowed on this type (it is cluster-scoped)");
  }
  validateLabels(md.labels, "metadata.labels", p);
  const ann = p.obj(md.annotations, "metadata.annotations");
  for (const [k, v] of Object.entries(ann ?? {})) {
    p.invalid(`metadata.annotations`, k, qualifiedNameErrors(k));
    p.str(v, `metadata.annotations[${k}]`);
  }
}

/** Validate a label map: qualified-name keys, label values. */
export function validateLabels(v: unknown, field: string, p: Problems): void {
  const labels = p.stringMap(v, field);
  for (const [k, val] of Object.entries(labels)) {
    p.invalid(field, k, qualifiedNameErrors(k));
    p.invalid(`${field}[${k}]`, val, labelValueErrors(val));
  }
}

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

/** Validate a metav1.LabelSelector at `field`. */
export function validateLabelSelector(v: unknown, field: string, p: Problems): void {
  const sel = p.obj(v, field);
  if (sel === undefined) return;
  validateLabels(sel.matchLabels, `${field}.matchLabels`, p);
  p.arr(sel.matchExpressions, `${field}.matchExpressions`).forEach((e, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    const expr = p.obj(e, at);
    if (expr === undefined) return;
    const key = p.str(expr.key, `${at}.key`);
    if (key === undefined || key === "") p.required(`${at}.key`);
    else p.invalid(`${at}.key`, key, qualifiedNameErrors(key));
    const op = p.str(expr.operator, `${at}.operator`);
    const values = p.arr(expr.values, `${at}.values`);
    values.forEach((val, j) => {
      const s = p.str(val, `${at}.values[${j}]`);
      if (s !== undefined) p.invalid(`${at}.values[${j}]`, s, labelValueErrors(s));
    });
    if (op === undefined || op === "") p.required(`${at}.operator`);
    else if (!OPERATORS.includes(op)) p.unsupported(`${at}.operator`, op, OPERATORS);
    else if ((op === "In" || op === "NotIn") && values.length === 0)
      p.required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    else if ((op === "Exists" || op === "DoesNotExist") && values.length > 0)
      p.forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
  });
}

/**
 * Field checks shared by the validators: name formats (RFC 1123, RFC 1035, IANA
 * service names, qualified label keys), IPs and CIDRs (through @knet/netstack),
 * and a problem collector that writes API-server style messages
 * (`Invalid value: 0: must be ...`).
 */
import { Addr, Prefix } from "@knet/netstack";
import type { ManifestProblem, ProblemCode } from "../problem.js";

const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Reasons `s` is not an RFC 1123 label (empty when it is one). */
export function dns1123LabelErrors(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push("must be no more than 63 characters");
  if (!LABEL_1123.test(s))
    errs.push(
      "must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
    );
  return errs;
}

/** Reasons `s` is not an RFC 1123 subdomain (dot-separated labels, at most 253 characters). */
export function dns1123SubdomainErrors(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 253) errs.push("must be no more than 253 characters");
  if (!s.split(".").every((l) => LABEL_1123.test(l)))
    errs.push(
      "must be an RFC 1123 subdomain: dot-separated labels of lower-case letters, digits and '-', each starting and ending with a letter or digit",
    );
  return errs;
}

/** Reasons `s` is not an RFC 1035 label (an RFC 1123 label that starts with a letter). */
export function dns1035LabelErrors(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push("must be no more than 63 characters");
  if (!LABEL_1035.test(s))
    errs.push(
      "must be an RFC 1035 label: lower-case letters, digits and '-', starting with a letter and ending with a letter or digit",
    );
  return errs;
}

/** Reasons `s` is not an IANA service name (a named port): at most 15 of [a-z0-9-], a letter, no edge or double '-'. */
export function portNameErrors(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 15) errs.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(s)) errs.push("must contain only lower-case letters, digits and '-'");
  if (!/[a-z]/.test(s)) errs.push("must contain at least one letter (a-z)");
  if (s.includes("--")) errs.push("must not contain consecutive hyphens");
  if (s.startsWith("-") || s.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

/** Reasons `n` is not a port number 1-65535. */
export function portNumberErrors(n: number): string[] {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? [] : ["must be between 1 and 65535, inclusive"];
}

/** Reasons `s` is not a qualified name (`[prefix/]name`, as label and annotation keys are). */
export function qualifiedNameErrors(s: string): string[] {
  const parts = s.split("/");
  let name = s;
  const errs: string[] = [];
  if (parts.length > 2)
    return ["must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/my-name')"];
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    name = parts[1] as string;
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else for (const e of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${e}`);
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else {
    if (name.length > 63) errs.push("name part must be no more than 63 characters");
    if (!QUALIFIED_NAME.test(name))
      errs.push("name part must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
  }
  return errs;
}

/** Reasons `s` is not a label value (empty, or at most 63 of letters/digits/-_. starting and ending alphanumeric). */
export function labelValueErrors(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push("must be no more than 63 characters");
  if (s !== "" && !QUALIFIED_NAME.test(s))
    errs.push("must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
  return errs;
}

/** Parse an IP, or undefined. */
export function parseIp(s: string): Addr | undefined {
  try {
    return Addr.parse(s);
  } catch {
    return undefined;
  }
}

/** Parse a CIDR as the API server does for existing fields (host bits allowed and masked), or undefined. */
export function parseCidr(s: string): Prefix | undefined {
  try {
    return Prefix.parse(s, { mask: true });
  } catch {
    return undefined;
  }
}

/** Longest value text quoted in a message; longer values are cut, with their length. */
const SHOW_MAX = 64;

function show(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (typeof v === "string") {
    return v.length <= SHOW_MAX
      ? JSON.stringify(v)
      : `${JSON.stringify(v.slice(0, SHOW_MAX))}... (${v.length} characters)`;
  }
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    return Array.isArray(v) ? "[...]" : "{...}"; // too deep to print
  }
  return s.length <= SHOW_MAX ? s : `${s.slice(0, SHOW_MAX)}... (${s.length} characters)`;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/**
 * Collects problems for one object with API-server style messages. Also reads
 * untyped fields safely: each `str`/`int`/`arr`/`obj` read reports a wrong JSON
 * type at its path and yields undefined.
 */
export class Problems {
  /** Problems so far. */
  readonly list: ManifestProblem[] = [];

  private add(code: ProblemCode, field: string, message: string): void {
    this.list.push({ code, field, message });
  }

  /** `field: Invalid value: V: reason` for each reason. */
  invalid(field: string, value: unknown, reasons: string | readonly string[]): void {
    for (const r of typeof reasons === "string" ? [reasons] : reasons)
      this.add("invalid", field, `Invalid value: ${show(value)}: ${r}`);
  }
  /** `field: Required value[: detail]`. */
  required(field: string, detail = ""): void {
    this.add("required", field, detail === "" ? "Required value" : `Required value: ${detail}`);
  }
  /** `field: Unsupported value: V: supported values: ...`. */
  unsupported(field: string, value: unknown, supported: readonly string[]): void {
    this.add(
      "invalid",
      field,
      `Unsupported value: ${show(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`,
    );
  }
  /** `field: Forbidden: detail`. */
  forbidden(field: string, detail: string): void {
    this.add("forbidden", field, `Forbidden: ${detail}`);
  }
  /** `field: Duplicate value: V`. */
  duplicate(field: string, value: unknown): void {
    this.add("duplicate", field, `Duplicate value: ${show(value)}`);
  }
  /** `field: Unknown field` (kubectl's strict decoding rejects it). */
  unknownField(field: string, schema: string): void {
    this.add(
      "unknown-field",
      field,
      `Unknown field: not in the ${schema} schema (kubectl --validate=strict rejects it)`,
    );
  }
  /** `field: Too many: N: must have at most M items`. */
  tooMany(field: string, n: number, max: number): void {
    this.add("invalid", field, `Too many: ${n}: must have at most ${max} items`);
  }

  private wrongType(field: string, v: unknown, want: string): void {
    this.add("shape", field, `Invalid type: expected ${want}, got ${typeName(v)} ${show(v)}`);
  }

  /** Read an optional string. */
  str(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") {
      this.wrongType(field, v, "string");
      return undefined;
    }
    return v;
  }
  /** Read an optional integer. */
  int(v: unknown, field: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.wrongType(field, v, "integer");
      return undefined;
    }
    return v;
  }
  /** Read an optional boolean. */
  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") {
      this.wrongType(field, v, "boolean");
      return undefined;
    }
    return v;
  }
  /** Read an optional integer-or-string (IntOrString). */
  intOrString(v: unknown, field: string): number | string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isInteger(v)) return v;
    this.wrongType(field, v, "integer or string");
    return undefined;
  }
  /** Read an optional array (absent = []). */
  arr(v: unknown, field: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.wrongType(field, v, "array");
      return [];
    }
    return v;
  }
  /** Read an optional object (absent = undefined). */
  obj(v: unknown, field: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) {
      this.wrongType(field, v, "object");
      return undefined;
    }
    return v as Record<string, unknown>;
  }
  /** Read an optional string→string map. */
  stringMap(v: unknown, field: string): Record<string, string> {
    const o = this.obj(v, field);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o ?? {})) {
      const s = this.str(val, `${field}[${k}]`);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
}

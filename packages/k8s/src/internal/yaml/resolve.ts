/**
 * Plain-scalar resolution as kubectl reads YAML: sigs.k8s.io/yaml decodes with its
 * go-yaml v2 fork into untyped values and converts them to JSON. A plain scalar is
 * looked up by its first character (sign, digit, `.`, one of `yYnNtTfFoO~`); anything
 * else is a string. Booleans and nulls come from a fixed table (YAML 1.1 spellings,
 * three letter cases each), integers from Go's `strconv.ParseInt(s, 0, 64)` after
 * removing `_` (so `0x1F`, `0o17`, `0b101` and C-style octal `0755` are integers), then
 * `ParseUint`, then floats matching `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
 * Timestamps stay strings (go-yaml v2 keeps them as text for untyped values), and there
 * are no base-60 numbers. So `e2`, `E5`, `+e3` and `e+3` are strings, `1e3` is 1000.
 */

/** Values go-yaml's table gives for exact spellings. NaN and the infinities are not JSON: the callers refuse them. */
const TABLE = new Map<string, boolean | null | number>();
for (const s of ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]) TABLE.set(s, true);
for (const s of ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]) TABLE.set(s, false);
for (const s of ["", "~", "null", "Null", "NULL"]) TABLE.set(s, null);
for (const s of [".nan", ".NaN", ".NAN"]) TABLE.set(s, Number.NaN);
for (const s of [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"]) TABLE.set(s, Number.POSITIVE_INFINITY);
for (const s of ["-.inf", "-.Inf", "-.INF"]) TABLE.set(s, Number.NEGATIVE_INFINITY);

/** First-character hints: 1 sign, 2 digit, 3 table only, 4 dot. 0: always a string. */
const HINT = new Uint8Array(128);
HINT[43] = 1; // +
HINT[45] = 1; // -
for (let c = 48; c <= 57; c++) HINT[c] = 2;
for (const ch of "yYnNtTfFoO~") HINT[ch.charCodeAt(0)] = 3;
HINT[46] = 4; // .

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
// Go's ParseFloat for text starting with `.`: digits with single `_` between them, optional exponent.
const DOT_FLOAT = /^\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?$/;
const DIGITS: Readonly<Record<number, RegExp>> = {
  2: /^[01]+$/,
  8: /^[0-7]+$/,
  10: /^[0-9]+$/,
  16: /^[0-9a-fA-F]+$/,
};

/** Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`; undefined when neither accepts `s`. */
function goParseInt(s: string): number | undefined {
  let i = 0;
  let negative = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 43 || c0 === 45) {
    negative = c0 === 45;
    i = 1;
  }
  let body = s.slice(i);
  if (body === "") return undefined;
  let base = 10;
  if (body.charCodeAt(0) === 48 && body.length > 1) {
    const p = body.charCodeAt(1) | 0x20;
    const prefixed = body.length >= 3 && (p === 0x62 || p === 0x6f || p === 0x78); // 0b 0o 0x
    base = prefixed ? (p === 0x62 ? 2 : p === 0x6f ? 8 : 16) : 8;
    body = body.slice(prefixed ? 2 : 1);
  }
  if (!(DIGITS[base] as RegExp).test(body)) return undefined;
  const prefix = base === 2 ? "0b" : base === 8 ? "0o" : base === 16 ? "0x" : "";
  const magnitude = BigInt(`${prefix}${body}`);
  // ParseInt takes [-2^63, 2^63-1]; ParseUint (no sign) takes up to 2^64-1.
  if (negative ? magnitude > INT64_MAX + 1n : magnitude > (i === 0 ? UINT64_MAX : INT64_MAX)) return undefined;
  const n = Number(magnitude);
  return negative ? (n === 0 ? 0 : -n) : n;
}

/**
 * Resolve one plain (unquoted, untagged) scalar as go-yaml v2 does for an untyped
 * value. Returns a string, number, boolean or null; NaN and +/-Infinity for `.nan`
 * and `.inf`, which the YAML-to-JSON step then rejects.
 */
export function resolvePlain(s: string): string | number | boolean | null {
  const c = s.length === 0 ? 0x4e : s.charCodeAt(0); // "" resolves through the table (null)
  const hint = c < 128 ? HINT[c] : 0;
  if (hint === 0 && s.length > 0) return s;
  const fixed = TABLE.get(s);
  if (fixed !== undefined || TABLE.has(s)) return fixed ?? null;
  if (hint === 3) return s;
  if (hint === 4) {
    if (!DOT_FLOAT.test(s)) return s;
    const f = Number(s.replaceAll("_", ""));
    return Number.isFinite(f) ? f : s; // Go reports a range error: the text stays a string
  }
  // Sign or digit: an integer, then a float; a short run of decimal digits is the common case.
  if (s.length <= 15 && c !== 48 && hint === 2 && /^[0-9]+$/.test(s)) return Number(s);
  const plain = s.includes("_") ? s.replaceAll("_", "") : s;
  const n = goParseInt(plain);
  if (n !== undefined) return n;
  if (FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) return f;
  }
  return s;
}

/**
 * A resolved mapping key as sigs.k8s.io/yaml writes it into JSON: strings as they are,
 * booleans as `true`/`false`, numbers in decimal. Undefined for a null key, which
 * the YAML-to-JSON conversion rejects.
 */
export function keyString(v: string | number | boolean | null): string | undefined {
  if (typeof v === "string") return v;
  if (v === null) return undefined;
  if (typeof v === "number") {
    if (Number.isNaN(v)) return ".nan";
    if (v === Number.POSITIVE_INFINITY) return ".inf";
    if (v === Number.NEGATIVE_INFINITY) return "-.inf";
  }
  return String(v);
}

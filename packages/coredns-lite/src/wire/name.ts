/**
 * Domain names as text: absolute, labels joined by dots, a trailing dot, and
 * presentation escapes (`\.` for a dot inside a label, `\DDD` for other bytes),
 * as dig prints them. Comparison is ASCII case-insensitive (RFC 4343).
 */

/** A name or label that cannot be put on the wire. */
export class NameError extends Error {
  override readonly name = "NameError";
}

/** The name with a trailing dot (`svc1.testns` becomes `svc1.testns.`; `""` and `.` are the root). */
export function fqdn(name: string): string {
  if (name === "" || name === ".") return ".";
  return name.endsWith(".") && !name.endsWith("\\.") ? name : `${name}.`;
}

/** ASCII lower case (RFC 4343 case-insensitivity; other bytes are kept). */
export function lowerName(name: string): string {
  return name.toLowerCase();
}

/** Labels of an absolute or relative name (escapes kept as written); the root has none. */
export function splitLabels(name: string): string[] {
  if (name === "." || name === "") return [];
  const labels: string[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 92 /* \ */) {
      i++;
      continue;
    }
    if (c === 46 /* . */) {
      labels.push(name.slice(start, i));
      start = i + 1;
    }
  }
  if (start < name.length) labels.push(name.slice(start));
  return labels;
}

/** True when `name` equals `zone` or lies below it (both lower case and absolute). */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === ".") return true;
  if (name.length === zone.length) return name === zone;
  return name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46;
}

/** The wire bytes of one presentation-format label. */
export function labelBytes(label: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < label.length; i++) {
    let c = label.charCodeAt(i);
    if (c === 92) {
      const d = label.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        c = Number(d);
        i += 3;
      } else {
        i++;
        c = label.charCodeAt(i);
      }
      if (!(c >= 0 && c <= 255)) throw new NameError(`bad escape in label "${label}"`);
    } else if (c > 255) {
      throw new NameError(`label "${label}" has a character outside latin1; use punycode`);
    }
    out.push(c);
  }
  if (out.length === 0) throw new NameError("empty label (two dots in a row?)");
  if (out.length > 63) throw new NameError(`label "${label}" is ${out.length} bytes; the limit is 63`);
  return out;
}

/** Printable bytes that presentation form writes with a backslash: `. \ " ( ) ; @ $`. */
export function escapedChar(c: number): boolean {
  return c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24;
}

/** Presentation text of one wire label (bytes `start`..`end` of `buf`), lower-cased when `lower`. */
export function labelText(buf: Uint8Array, start: number, end: number, lower: boolean): string {
  let s = "";
  for (let i = start; i < end; i++) {
    let c = buf[i] as number;
    if (c >= 0x41 && c <= 0x5a) {
      if (lower) c += 32;
      s += String.fromCharCode(c);
    } else if (escapedChar(c)) {
      s += `\\${String.fromCharCode(c)}`;
    } else if (c > 0x20 && c < 0x7f) {
      s += String.fromCharCode(c);
    } else {
      s += `\\${c.toString().padStart(3, "0")}`;
    }
  }
  return s;
}

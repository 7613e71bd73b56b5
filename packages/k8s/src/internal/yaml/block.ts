/**
 * A fast reader for the YAML that kubectl, Helm and people write for Kubernetes:
 * block mappings and sequences, plain and quoted one-line scalars, one-line flow
 * collections, literal block scalars (`|`, `|-`, `|+`) and comments. It builds plain
 * objects directly from the text in one pass, resolving scalars as go-yaml does.
 * Anything outside that subset (anchors, aliases, tags, folded or multi-line scalars,
 * complex keys, merge keys, duplicate keys, odd indentation, errors) makes it give up,
 * and the caller reads the document with the full parser, which also words the error.
 */
import { resolvePlain } from "./resolve.js";

/** Thrown (and caught by {@link readBlockYaml}) when the text leaves the subset. */
class Bail {}
const BAIL = new Bail();

const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const COLON = 58;
const DASH = 45;
/** Deepest nesting read here; deeper documents go to the full parser, which reports them. */
const MAX_DEPTH = 500;

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (Object.hasOwn(obj, key)) throw BAIL; // duplicate: the full parser reports it with its line
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function plainValue(text: string): unknown {
  const v = resolvePlain(text);
  if (typeof v === "number" && !Number.isFinite(v)) throw BAIL; // not JSON: reported by the full parser
  return v;
}

function keyOf(text: string): string {
  const v = resolvePlain(text);
  if (typeof v === "string") return v;
  if (v === null || (typeof v === "number" && !Number.isFinite(v))) throw BAIL;
  return String(v);
}

class Reader {
  private readonly s: string;
  private readonly end: number;
  /** Current significant line: start offset, end (before CR/LF), indentation, first content offset. */
  private lineStart = 0;
  private lineEnd = 0;
  private indent = 0;
  private content = 0;
  private atEnd = false;
  private depth = 0;

  constructor(s: string, start: number, end: number) {
    this.s = s;
    this.end = end;
    this.seek(start);
  }

  /** Move to the first line at or after `pos` that is neither blank nor a comment. */
  private seek(pos: number): void {
    const s = this.s;
    while (pos < this.end) {
      let e = s.indexOf("\n", pos);
      if (e < 0 || e > this.end) e = this.end;
      const next = e + 1;
      if (e > pos && s.charCodeAt(e - 1) === CR) e--;
      let i = pos;
      while (i < e && s.charCodeAt(i) === SPACE) i++;
      if (i < e) {
        const c = s.charCodeAt(i);
        if (c === TAB) {
          // A tab in indentation is an error unless the line is blank.
          let j = i;
          while (j < e && (s.charCodeAt(j) === TAB || s.charCodeAt(j) === SPACE)) j++;
          if (j < e && s.charCodeAt(j) !== HASH) throw BAIL;
        } else if (c !== HASH) {
          this.lineStart = pos;
          this.lineEnd = e;
          this.indent = i - pos;
          this.content = i;
          return;
        }
      }
      pos = next;
    }
    this.atEnd = true;
    this.lineStart = this.lineEnd = this.content = this.end;
    this.indent = -1;
  }

  private nextLine(): void {
    this.seek(this.lineEnd + 1);
  }

  private isDash(at: number): boolean {
    if (this.s.charCodeAt(at) !== DASH) return false;
    const n = at + 1;
    if (n >= this.lineEnd) return true;
    const c = this.s.charCodeAt(n);
    return c === SPACE || c === TAB;
  }

  /** The document's value; undefined for an empty document. */
  document(): unknown {
    if (this.atEnd) return null;
    const s = this.s;
    const c = s.charCodeAt(this.content);
    // Directives, explicit starts with content, end markers: the full parser.
    if (c === 37 || ((c === DASH || c === 46) && s.startsWith(c === DASH ? "---" : "...", this.content))) throw BAIL;
    const v = this.node(-1);
    if (!this.atEnd) throw BAIL;
    return v;
  }

  /** A block node whose first line is the current one (indented more than `parent`). */
  private node(parent: number): unknown {
    if (++this.depth > MAX_DEPTH) throw BAIL;
    let v: unknown;
    if (this.isDash(this.content)) v = this.sequence(this.indent);
    else if (this.keyEnd(this.content) >= 0) v = this.mapping(this.indent);
    else v = this.inline(this.content, parent);
    this.depth--;
    return v;
  }

  /**
   * If a block mapping key starts at `p` on the current line: the offset of its `:`.
   * -1 when the line is not a key line (a plain or quoted scalar, a flow collection).
   */
  private keyEnd(p: number): number {
    const s = this.s;
    const e = this.lineEnd;
    const c = s.charCodeAt(p);
    if (c === 34 || c === 39) {
      const q = c === 34 ? this.doubleQuotedEnd(p) : this.singleQuotedEnd(p);
      let i = q;
      while (i < e && s.charCodeAt(i) === SPACE) i++;
      if (
        i < e &&
        s.charCodeAt(i) === COLON &&
        (i + 1 >= e || s.charCodeAt(i + 1) === SPACE || s.charCodeAt(i + 1) === TAB)
      )
        return i;
      return -1;
    }
    if (c === 91 || c === 123) return -1; // a flow collection
    if (c === 63 || c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === 37 || c === 64 || c === 96)
      throw BAIL; // ? & * ! | > % @ `: complex keys, anchors, aliases, tags, block scalars
    for (let i = p; i < e; i++) {
      const ch = s.charCodeAt(i);
      if (ch === COLON) {
        if (i + 1 >= e) return i;
        const n = s.charCodeAt(i + 1);
        if (n === SPACE || n === TAB) return i;
      } else if (ch === HASH && i > p) {
        const b = s.charCodeAt(i - 1);
        if (b === SPACE || b === TAB) return -1; // a comment starts before any `: `
      }
    }
    return -1;
  }

  private mapping(ind: number): Record<string, unknown> {
    const s = this.s;
    const obj: Record<string, unknown> = {};
    for (;;) {
      const p = this.content;
      const colon = this.keyEnd(p);
      if (colon < 0) throw BAIL;
      const c = s.charCodeAt(p);
      let key: string;
      if (c === 34) key = this.doubleQuoted(p, this.doubleQuotedEnd(p));
      else if (c === 39) key = this.singleQuoted(p, this.singleQuotedEnd(p));
      else {
        let k = colon;
        while (k > p && (s.charCodeAt(k - 1) === SPACE || s.charCodeAt(k - 1) === TAB)) k--;
        const text = s.slice(p, k);
        if (text === "<<") throw BAIL; // merge keys: the full parser
        key = keyOf(text);
      }
      let v = colon + 1;
      while (v < this.lineEnd && (s.charCodeAt(v) === SPACE || s.charCodeAt(v) === TAB)) v++;
      let value: unknown;
      if (v >= this.lineEnd || s.charCodeAt(v) === HASH) {
        this.nextLine();
        if (!this.atEnd && (this.indent > ind || (this.indent === ind && this.isDash(this.content)))) {
          value = this.indent === ind ? this.sequence(ind) : this.node(ind);
        } else value = null;
      } else {
        value = this.inline(v, ind);
      }
      setKey(obj, key, value);
      if (this.atEnd || this.indent < ind) return obj;
      if (this.indent > ind || this.isDash(this.content)) throw BAIL;
    }
  }

  private sequence(ind: number): unknown[] {
    const s = this.s;
    const arr: unknown[] = [];
    for (;;) {
      let q = this.content + 1;
      while (q < this.lineEnd && (s.charCodeAt(q) === SPACE || s.charCodeAt(q) === TAB)) q++;
      if (q >= this.lineEnd || s.charCodeAt(q) === HASH) {
        this.nextLine();
        arr.push(!this.atEnd && this.indent > ind ? this.node(ind) : null);
      } else {
        if (s.charCodeAt(q - 1) === TAB) throw BAIL;
        // The item's content starts a node at its own column, as if on a line of its own.
        this.indent = q - this.lineStart;
        this.content = q;
        arr.push(this.node(ind));
      }
      if (this.atEnd || this.indent < ind || (this.indent === ind && !this.isDash(this.content))) return arr;
      if (this.indent > ind) throw BAIL;
    }
  }

  /** A value that starts at `p` on the current line; afterwards the next line is current. */
  private inline(p: number, ind: number): unknown {
    const s = this.s;
    const c = s.charCodeAt(p);
    let value: unknown;
    let after: number;
    if (c === 34) {
      after = this.doubleQuotedEnd(p);
      value = this.doubleQuoted(p, after);
    } else if (c === 39) {
      after = this.singleQuotedEnd(p);
      value = this.singleQuoted(p, after);
    } else if (c === 91 || c === 123) {
      const r = this.flow(p, 0);
      value = r.value;
      after = r.end;
    } else if (c === 124) {
      return this.literal(p, ind);
    } else if (
      (c === DASH && this.isDash(p)) ||
      c === 38 ||
      c === 42 ||
      c === 33 ||
      c === 62 ||
      c === 37 ||
      c === 64 ||
      c === 96 ||
      c === 63 ||
      c === 44 ||
      c === 93 ||
      c === 125
    ) {
      throw BAIL;
    } else {
      // Plain scalar to the end of the line or a ` #` comment; `: ` inside is an error.
      let e = this.lineEnd;
      for (let i = p; i < this.lineEnd; i++) {
        const ch = s.charCodeAt(i);
        if (ch === HASH) {
          const b = s.charCodeAt(i - 1);
          if (b === SPACE || b === TAB) {
            e = i;
            break;
          }
        } else if (ch === COLON) {
          const n = i + 1 < this.lineEnd ? s.charCodeAt(i + 1) : SPACE;
          if (n === SPACE || n === TAB) throw BAIL;
        }
      }
      while (e > p && (s.charCodeAt(e - 1) === SPACE || s.charCodeAt(e - 1) === TAB)) e--;
      value = plainValue(s.slice(p, e));
      after = this.lineEnd;
    }
    this.rest(after);
    this.nextLine();
    // A more indented line after a scalar continues it (multi-line) or is an error.
    if (!this.atEnd && this.indent > ind) throw BAIL;
    return value;
  }

  /** Only blanks or a comment may follow a value on its line. */
  private rest(from: number): void {
    const s = this.s;
    let i = from;
    while (i < this.lineEnd && (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB)) i++;
    if (i < this.lineEnd && (s.charCodeAt(i) !== HASH || i === from)) throw BAIL;
  }

  /** Offset just after the closing `"` of a double-quoted scalar on this line. */
  private doubleQuotedEnd(p: number): number {
    const s = this.s;
    for (let i = p + 1; i < this.lineEnd; i++) {
      const ch = s.charCodeAt(i);
      if (ch === 92) i++;
      else if (ch === 34) return i + 1;
    }
    throw BAIL; // continues on the next line
  }

  private singleQuotedEnd(p: number): number {
    const s = this.s;
    for (let i = p + 1; i < this.lineEnd; i++) {
      if (s.charCodeAt(i) === 39) {
        if (s.charCodeAt(i + 1) === 39 && i + 1 < this.lineEnd) i++;
        else return i + 1;
      }
    }
    throw BAIL;
  }

  private singleQuoted(p: number, end: number): string {
    const body = this.s.slice(p + 1, end - 1);
    return body.includes("''") ? body.replaceAll("''", "'") : body;
  }

  private doubleQuoted(p: number, end: number): string {
    const s = this.s;
    const body = s.slice(p + 1, end - 1);
    if (!body.includes("\\")) return body;
    let out = "";
    for (let i = 0; i < body.length; i++) {
      const ch = body[i] as string;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const e = body[++i];
      const simple = e === undefined ? undefined : ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        continue;
      }
      const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
      const hex = body.slice(i + 1, i + 1 + width);
      if (width === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) throw BAIL;
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff) throw BAIL;
      out += String.fromCodePoint(cp);
      i += width;
    }
    return out;
  }

  /** A `|` block scalar: its header is at `p`; content lines are indented more than `ind`. */
  private literal(p: number, ind: number): string {
    const s = this.s;
    let h = p + 1;
    let chomp = 0; // -1 strip, 0 clip, 1 keep
    const m = s.charCodeAt(h);
    if (m === DASH || m === 43) {
      chomp = m === DASH ? -1 : 1;
      h++;
    }
    this.rest(h);
    const lines: string[] = [];
    let contentIndent = -1;
    let pos = this.lineEnd + 1;
    // lineEnd may stop before a CR: skip it too.
    if (s.charCodeAt(this.lineEnd) === CR) pos++;
    let stop = this.end;
    while (pos < this.end) {
      let e = s.indexOf("\n", pos);
      if (e < 0 || e > this.end) e = this.end;
      const next = e + 1;
      if (e > pos && s.charCodeAt(e - 1) === CR) e--;
      let i = pos;
      while (i < e && s.charCodeAt(i) === SPACE) i++;
      if (i === e) {
        // Blank: part of the scalar (spaces beyond the content indentation are content).
        if (contentIndent < 0 && i > pos) throw BAIL;
        lines.push(contentIndent >= 0 && e - pos > contentIndent ? s.slice(pos + contentIndent, e) : "");
        pos = next;
        continue;
      }
      const n = i - pos;
      if (contentIndent < 0) {
        if (n <= ind) {
          stop = pos;
          break;
        }
        if (s.charCodeAt(i) === TAB) throw BAIL;
        contentIndent = n;
      } else if (n < contentIndent) {
        stop = pos;
        break;
      }
      lines.push(s.slice(pos + contentIndent, e));
      pos = next;
    }
    if (pos >= this.end) stop = this.end;
    let last = lines.length - 1;
    while (last >= 0 && lines[last] === "") last--;
    const body = lines.slice(0, last + 1).join("\n");
    const trailing = lines.length - 1 - last;
    let text: string;
    if (chomp < 0) text = body;
    else if (chomp === 0) text = last >= 0 ? `${body}\n` : "";
    else text = (last >= 0 ? `${body}\n` : "") + "\n".repeat(last >= 0 ? trailing : trailing);
    this.seek(stop);
    if (!this.atEnd && this.indent > ind) throw BAIL;
    return text;
  }

  /** A flow collection that closes on this line. */
  private flow(p: number, depth: number): { value: unknown; end: number } {
    if (depth > MAX_DEPTH) throw BAIL;
    const s = this.s;
    const e = this.lineEnd;
    const open = s.charCodeAt(p);
    const close = open === 91 ? 93 : 125;
    const arr: unknown[] = [];
    const obj: Record<string, unknown> = {};
    let i = p + 1;
    for (;;) {
      while (i < e && (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB)) i++;
      if (i >= e) throw BAIL;
      if (s.charCodeAt(i) === close) return { value: open === 91 ? arr : obj, end: i + 1 };
      const item = this.flowNode(i, depth);
      i = item.end;
      while (i < e && (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB)) i++;
      if (open === 91) {
        if (s.charCodeAt(i) === COLON) throw BAIL; // a single-pair mapping inside a sequence
        arr.push(item.value);
      } else {
        if (item.kind === "flow" || (item.kind === "plain" && item.text === "<<")) throw BAIL;
        const key = item.kind === "plain" ? keyOf(item.text) : (item.value as string);
        let value: unknown = null;
        if (s.charCodeAt(i) === COLON) {
          i++;
          while (i < e && (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB)) i++;
          const c = s.charCodeAt(i);
          if (i < e && c !== 44 && c !== close) {
            const v = this.flowNode(i, depth);
            value = v.value;
            i = v.end;
            while (i < e && (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB)) i++;
          }
        }
        setKey(obj, key, value);
      }
      const c = s.charCodeAt(i);
      if (i < e && c === 44) i++;
      else if (i >= e || c !== close) throw BAIL;
    }
  }

  private flowNode(
    i: number,
    depth: number,
  ):
    | { kind: "plain"; text: string; value: unknown; end: number }
    | { kind: "quoted" | "flow"; value: unknown; end: number } {
    const s = this.s;
    const e = this.lineEnd;
    const c = s.charCodeAt(i);
    if (c === 91 || c === 123) {
      const r = this.flow(i, depth + 1);
      return { kind: "flow", value: r.value, end: r.end };
    }
    if (c === 34) {
      const end = this.doubleQuotedEnd(i);
      return { kind: "quoted", value: this.doubleQuoted(i, end), end };
    }
    if (c === 39) {
      const end = this.singleQuotedEnd(i);
      return { kind: "quoted", value: this.singleQuoted(i, end), end };
    }
    if (
      c === 38 ||
      c === 42 ||
      c === 33 ||
      c === 124 ||
      c === 62 ||
      c === 37 ||
      c === 64 ||
      c === 96 ||
      c === 63 ||
      c === 44 ||
      c === 93 ||
      c === 125 ||
      c === HASH ||
      c === COLON ||
      (c === DASH && (s.charCodeAt(i + 1) === SPACE || s.charCodeAt(i + 1) === TAB))
    )
      throw BAIL;
    let j = i;
    for (; j < e; j++) {
      const ch = s.charCodeAt(j);
      if (ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125) break;
      if (ch === COLON) {
        const n = j + 1 < e ? s.charCodeAt(j + 1) : SPACE;
        if (n === SPACE || n === TAB || n === 44 || n === 93 || n === 125) break;
      }
      if (ch === HASH && (s.charCodeAt(j - 1) === SPACE || s.charCodeAt(j - 1) === TAB)) throw BAIL;
    }
    let k = j;
    while (k > i && (s.charCodeAt(k - 1) === SPACE || s.charCodeAt(k - 1) === TAB)) k--;
    const text = s.slice(i, k);
    if (text === "") throw BAIL;
    return { kind: "plain", text, value: plainValue(text), end: j };
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
};

/** What {@link readBlockYaml} returns when the document needs the full parser. */
export const NEEDS_FULL_PARSER: unique symbol = Symbol("needs the full YAML parser");

/**
 * Read one YAML document (`s` from `start` to `end`, without `---` separator lines)
 * in the common block subset. Returns the value (null for an empty document) or
 * {@link NEEDS_FULL_PARSER}.
 */
export function readBlockYaml(s: string, start: number, end: number): unknown {
  try {
    return new Reader(s, start, end).document();
  } catch (e) {
    if (e === BAIL || e instanceof RangeError) return NEEDS_FULL_PARSER;
    throw e;
  }
}

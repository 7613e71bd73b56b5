/**
 * A manifest stream split into documents as kubectl reads it: lines that are `---`
 * (plus trailing blanks) separate documents (apimachinery's YAMLReader), and a
 * document that starts with `{` or `[` is read as JSON, including several JSON
 * values back to back (what kubectl's YAML-or-JSON decoder accepts). JSON is YAML,
 * so a JSON document the JSON reader rejects is read again as YAML before it is
 * reported. Each YAML document is read by the fast block reader, or by the full
 * parser when it needs one. Linear in the text: line numbers are counted once.
 */
import { NEEDS_FULL_PARSER, readBlockYaml } from "./block.js";
import { readFullYaml, TOO_DEEP, tooDeep, type YamlIssue } from "./full.js";

/** One document of a stream: its value or why it cannot be read, and where it is. */
export interface StreamDocument {
  /** 1-based line of the document's first content in the whole text. */
  readonly line: number;
  /** The value (JSON-shaped) when it could be read. */
  readonly value?: unknown;
  /** Why it could not be read (lines are absolute). */
  readonly issues?: readonly YamlIssue[];
  /** The text the document was read from (offsets into the whole text), to find a field's line later. */
  readonly start: number;
  /** End offset (exclusive). */
  readonly end: number;
  /** 1-based line of `start`. */
  readonly startLine: number;
  /** Which document inside `start..end` (a YAML text can still hold several after `...`). */
  readonly index: number;
}

/** Limits for {@link readStream}. */
export interface StreamLimits {
  /**
   * Largest document (in UTF-16 code units) handed to the full YAML parser, which
   * keeps a node tree of the whole document in memory. Block-style documents (what
   * kubectl prints) and JSON are read without that tree at any size.
   */
  readonly maxFullParseBytes: number;
}

function countLines(s: string, from: number, to: number): number {
  let n = 0;
  let i = s.indexOf("\n", from);
  while (i >= 0 && i < to) {
    n++;
    i = s.indexOf("\n", i + 1);
  }
  return n;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Document boundaries: [start, end) pairs between `---` lines, with the line each starts on. */
function split(s: string): { start: number; end: number; line: number }[] {
  const out: { start: number; end: number; line: number }[] = [];
  let docStart = 0;
  let line = 1;
  const next = (from: number): number => {
    const k = s.indexOf("\n---", from);
    return k < 0 ? -1 : k + 1;
  };
  let cand = s.startsWith("---") ? 0 : next(0);
  while (cand >= 0) {
    let e = s.indexOf("\n", cand + 3);
    if (e < 0) e = s.length;
    let blank = true;
    for (let i = cand + 3; i < e && blank; i++) blank = isBlank(s.charCodeAt(i));
    if (blank) {
      out.push({ start: docStart, end: cand, line });
      line += countLines(s, docStart, e + 1);
      docStart = Math.min(e + 1, s.length);
    }
    cand = e >= s.length ? -1 : next(e);
  }
  out.push({ start: docStart, end: s.length, line });
  return out;
}

/** The end of the JSON value that starts at `i` (an object or array), or -1. */
function jsonEnd(s: string, i: number, end: number): number {
  let depth = 0;
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 34) {
      for (j++; j < end; j++) {
        const d = s.charCodeAt(j);
        if (d === 92) j++;
        else if (d === 34) break;
      }
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

function jsonIssue(s: string, start: number, e: unknown): YamlIssue {
  const message = e instanceof Error ? e.message : String(e);
  const m = /position (\d+)/.exec(message);
  const base = `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`;
  if (m === null) return { message: base };
  const pos = start + Number(m[1]);
  const line = countLines(s, 0, pos) + 1;
  const col = pos - (s.lastIndexOf("\n", pos - 1) + 1) + 1;
  return { message: `${base} at line ${line} column ${col}`, line };
}

function excerptLine(s: string, at: number): string {
  let e = s.indexOf("\n", at);
  if (e < 0) e = s.length;
  const text = s.slice(at, Math.min(e, at + 40));
  return JSON.stringify(e - at > 40 ? `${text}...` : text);
}

/**
 * Split `s` into documents and read each one. Empty documents (only blanks and
 * comments) are left out.
 */
export function readStream(s: string, limits: StreamLimits): StreamDocument[] {
  const out: StreamDocument[] = [];
  for (const chunk of split(s)) {
    // First content: skip blank lines and comment lines (comments only for YAML).
    let p = chunk.start;
    let line = chunk.line;
    for (;;) {
      while (p < chunk.end && (s.charCodeAt(p) === 32 || s.charCodeAt(p) === 9 || s.charCodeAt(p) === 13)) p++;
      if (p < chunk.end && s.charCodeAt(p) === 10) {
        p++;
        line++;
        continue;
      }
      if (p < chunk.end && s.charCodeAt(p) === 35) {
        const e = s.indexOf("\n", p);
        if (e < 0 || e >= chunk.end) p = chunk.end;
        else {
          p = e + 1;
          line++;
        }
        continue;
      }
      break;
    }
    if (p >= chunk.end) continue;
    const c = s.charCodeAt(p);
    if ((c === 123 || c === 91) && readJson(s, p, chunk.end, line, out, limits)) continue;
    const fast = readBlockYaml(s, chunk.start, chunk.end);
    if (fast !== NEEDS_FULL_PARSER) {
      out.push({ line, value: fast, start: chunk.start, end: chunk.end, startLine: chunk.line, index: 0 });
      continue;
    }
    if (chunk.end - chunk.start > limits.maxFullParseBytes) {
      const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
      out.push({
        line,
        issues: [
          {
            message: `document of ${mb(chunk.end - chunk.start)} starting ${excerptLine(s, p)} needs the full YAML parser (it uses anchors, tags, folded or multi-line scalars, or has a syntax error), which reads documents up to ${mb(limits.maxFullParseBytes)}: split it into smaller documents, or convert it to JSON (kubectl get -o json)`,
            line,
          },
        ],
        start: chunk.start,
        end: chunk.end,
        startLine: chunk.line,
        index: 0,
      });
      continue;
    }
    const text = s.slice(chunk.start, chunk.end);
    readFullYaml(text).forEach((d, index) => {
      const base = { start: chunk.start, end: chunk.end, startLine: chunk.line, index };
      if ("value" in d) {
        if (d.value !== null && d.value !== undefined) out.push({ line, value: d.value, ...base });
      } else {
        const issues = d.issues.map((i) => (i.line !== undefined ? { ...i, line: i.line + chunk.line - 1 } : i));
        out.push({ line: issues[0]?.line ?? line, issues, ...base });
      }
    });
  }
  return out;
}

/** A parsed JSON document, or its issue (a syntax error, or nesting deeper than knet reads). */
function jsonDocument(s: string, start: number, end: number, line: number): StreamDocument {
  const where = { line, start, end, startLine: line, index: 0 };
  try {
    const value: unknown = JSON.parse(s.slice(start, end));
    return tooDeep(value)
      ? { ...where, issues: [{ message: `invalid JSON: ${TOO_DEEP}`, line }] }
      : { ...where, value };
  } catch (e) {
    return { ...where, issues: [jsonIssue(s, start, e)] };
  }
}

/**
 * Read JSON values from `p` to `end`: one value, or several back to back. Returns
 * false (nothing added) when the text is not JSON but reads as YAML (flow style), so
 * the caller reads it as YAML.
 */
function readJson(
  s: string,
  p: number,
  end: number,
  line: number,
  out: StreamDocument[],
  limits: StreamLimits,
): boolean {
  const one = jsonDocument(s, p, end, line);
  if (one.value !== undefined || one.issues?.[0]?.message.includes(TOO_DEEP) === true) {
    out.push(one);
    return true;
  }
  // Not one JSON value: several back to back?
  const values: { start: number; end: number; line: number }[] = [];
  let i = p;
  let l = line;
  while (i < end) {
    const e = jsonEnd(s, i, end);
    if (e < 0) break;
    values.push({ start: i, end: e, line: l });
    let j = e;
    while (j < end && isBlank(s.charCodeAt(j))) j++;
    l += countLines(s, i, j);
    i = j;
    if (i < end && s.charCodeAt(i) !== 123 && s.charCodeAt(i) !== 91) break;
  }
  if (values.length > 1 && i >= end) {
    for (const v of values) out.push(jsonDocument(s, v.start, v.end, v.line));
    return true;
  }
  if (end - p <= limits.maxFullParseBytes) {
    const yaml = readFullYaml(s.slice(p, end));
    if (yaml.every((d) => "value" in d)) return false; // YAML flow style, not JSON
  }
  out.push(one);
  return true;
}

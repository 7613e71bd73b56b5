/**
 * The full YAML path: the `yaml` package parses (every scalar kept as text), and
 * this module turns its node tree into JSON values the way kubectl does
 * (sigs.k8s.io/yaml over go-yaml v2): plain scalars resolved by go-yaml's table,
 * explicit `!!str`/`!!int`/`!!float`/`!!bool`/`!!null` tags honoured, merge keys
 * (`<<`), anchors and aliases expanded with go-yaml's excessive-aliasing limit, keys
 * turned into strings, duplicate keys and values JSON cannot carry (`.nan`, `.inf`)
 * reported with their line. Linear in the document: keys are checked with a set.
 */
import { Alias, type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments, Scalar } from "yaml";
import { keyString, resolvePlain } from "./resolve.js";

/** One problem in a document, with a 1-based line relative to the text parsed. */
export interface YamlIssue {
  /** What is wrong, in one line. */
  readonly message: string;
  /** 1-based line in the parsed text. */
  readonly line?: number;
  /** Field path from the document root, when the problem is inside a value. */
  readonly field?: string;
}

/** The value of one document, or the issues that stop it from being read. */
export type FullDocument = { readonly value: unknown } | { readonly issues: readonly YamlIssue[] };

const TAG = "tag:yaml.org,2002:";
/**
 * Deepest nesting read. go-yaml and Go's JSON decoder stop at 10000 levels; knet stops
 * at 1000 so that every recursive consumer stays within the stack (no Kubernetes
 * object nests more than a few dozen levels).
 */
export const MAX_DEPTH = 1000;

/** The message for a document nested deeper than {@link MAX_DEPTH}. */
export const TOO_DEEP = `nested more than ${MAX_DEPTH} levels deep (knet reads ${MAX_DEPTH}; kubectl's parsers stop at 10000)`;

/** Whether a JSON value nests deeper than {@link MAX_DEPTH} (checked without recursion). */
export function tooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, d] = top;
    if (typeof v !== "object" || v === null) continue;
    if (d >= MAX_DEPTH) return true;
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === "object" && x !== null) stack.push([x, d + 1]);
    } else {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === "object" && x !== null) stack.push([x, d + 1]);
      }
    }
  }
  return false;
}

/** go-yaml v2's `allowedAliasRatio`: small documents may be 99% alias expansion, huge ones 10%. */
function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= 400_000) return 0.99;
  if (decodeCount >= 4_000_000) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - 400_000) / 3_600_000);
}

class Stop extends Error {
  constructor(
    message: string,
    readonly node: Node | undefined,
    readonly path: readonly (string | number)[],
  ) {
    super(message);
  }
}

function fieldPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out;
}

/** An excerpt of a value for a message: at most 40 characters. */
export function excerpt(text: string, max = 40): string {
  const one = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(one);
}

class Converter {
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;
  private readonly path: (string | number)[] = [];

  constructor(private readonly doc: Document.Parsed) {}

  value(node: Node | null | undefined): unknown {
    if (node === null || node === undefined) return null;
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (
      this.aliasCount > 100 &&
      this.decodeCount > 1000 &&
      this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)
    ) {
      throw new Stop("document contains excessive aliasing (go-yaml stops here as kubectl does)", node, this.path);
    }
    if (this.path.length >= MAX_DEPTH) throw new Stop(TOO_DEEP, node, this.path);
    if (node instanceof Alias) {
      const target = node.resolve(this.doc);
      if (target === undefined) throw new Stop(`unknown anchor ${JSON.stringify(node.source)}`, node, this.path);
      this.aliasDepth++;
      try {
        return this.value(target as Node);
      } finally {
        this.aliasDepth--;
      }
    }
    if (isScalar(node)) return this.scalar(node);
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        this.path.push(i);
        out.push(this.value(item as Node));
        this.path.pop();
      });
      return out;
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      const explicit = new Set<string>();
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && k.type === Scalar.PLAIN && k.tag === undefined && k.source === "<<") {
          this.merge(pair.value as Node | null, out);
          continue;
        }
        const key = this.key(k);
        this.path.push(key);
        if (explicit.has(key)) throw new Stop(`mapping key ${excerpt(key)} already defined`, k ?? node, this.path);
        explicit.add(key);
        set(out, key, this.value(pair.value as Node | null));
        this.path.pop();
      }
      return out;
    }
    throw new Stop("unsupported YAML node", node, this.path);
  }

  /** go-yaml v2 merge: the merged mapping's keys are assigned in order (a list merges last-first). */
  private merge(node: Node | null, into: Record<string, unknown>): void {
    const one = (n: Node | null): void => {
      const target = n instanceof Alias ? n.resolve(this.doc) : n;
      if (!isMap(target))
        throw new Stop("map merge requires map or sequence of maps as the value", n ?? undefined, this.path);
      const v = this.value(n) as Record<string, unknown>;
      for (const k of Object.keys(v)) set(into, k, v[k]);
    };
    if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) one(node.items[i] as Node);
    } else one(node);
  }

  private key(node: Node | null): string {
    if (node === null) throw new Stop("Unsupported map key: null", undefined, this.path);
    if (!isScalar(node)) throw new Stop("Unsupported map key: a mapping or sequence", node, this.path);
    const v = this.scalar(node, true);
    const k = keyString(v as string | number | boolean | null);
    if (k === undefined) throw new Stop("Unsupported map key: null", node, this.path);
    return k;
  }

  private scalar(node: Scalar, isKey = false): unknown {
    const text = String(node.value ?? "");
    const tag = node.tag;
    let v: string | number | boolean | null;
    if (tag === undefined || tag === "!") {
      v = node.type === Scalar.PLAIN && tag === undefined ? resolvePlain(text) : text;
    } else if (tag.startsWith(TAG)) {
      const want = tag.slice(TAG.length);
      if (want === "str" || want === "binary" || want === "timestamp") v = text;
      else {
        v = resolvePlain(text);
        const got = v === null ? "null" : typeof v === "boolean" ? "bool" : typeof v === "number" ? "num" : "str";
        const ok =
          (want === "null" && got === "null") ||
          (want === "bool" && got === "bool") ||
          (want === "float" && got === "num") ||
          (want === "int" && got === "num" && Number.isInteger(v));
        if (!ok && (want === "null" || want === "bool" || want === "float" || want === "int"))
          throw new Stop(`cannot decode ${excerpt(text)} as a !!${want}`, node, this.path);
        if (!ok) v = text;
      }
    } else v = text; // application tags: the text, as go-yaml gives it for an untyped value
    if (typeof v === "number" && !Number.isFinite(v) && !isKey)
      throw new Stop(
        `error converting YAML to JSON: json: unsupported value: ${Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"} (quote it to keep the text)`,
        node,
        this.path,
      );
    return v;
  }
}

function set(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Parse `text` (one chunk between `---` lines; it may still hold several documents
 * when it uses `...` or `--- content`) with the full parser. Lines are 1-based within `text`.
 */
export function readFullYaml(text: string): FullDocument[] {
  const lc = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      version: "1.1",
      schema: "failsafe",
      uniqueKeys: false,
      prettyErrors: false,
      lineCounter: lc,
      strict: false,
    }) as Document.Parsed[];
  } catch (e) {
    if (e instanceof RangeError) {
      return [{ issues: [{ message: `invalid YAML: ${TOO_DEEP}` }] }];
    }
    throw e;
  }
  if (!Array.isArray(docs)) docs = [docs];
  const out: FullDocument[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      // The first error: later ones are usually its echo (kubectl reports one).
      out.push({
        issues: doc.errors.slice(0, 1).map((err) => {
          const line = lc.linePos(err.pos[0]).line;
          const first = err.message.split("\n")[0] as string;
          // The parser catches its own stack overflow on deep nesting.
          return { message: `invalid YAML: ${first.includes("call stack") ? TOO_DEEP : first}`, line };
        }),
      });
      continue;
    }
    try {
      out.push({ value: new Converter(doc).value(doc.contents as Node | null) });
    } catch (e) {
      if (e instanceof Stop) {
        const at = e.node?.range?.[0];
        const issue: { message: string; line?: number; field?: string } = { message: `invalid YAML: ${e.message}` };
        if (at !== undefined) issue.line = lc.linePos(at).line;
        if (e.path.length > 0) issue.field = fieldPath(e.path);
        out.push({ issues: [issue] });
      } else if (e instanceof RangeError) {
        out.push({ issues: [{ message: `invalid YAML: ${TOO_DEEP}` }] });
      } else throw e;
    }
  }
  return out;
}

/** Parse field-path text (`spec.ports[0].port`, `metadata.labels[app.kubernetes.io/name]`) into steps. */
function steps(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[([^\]]*)\]/g;
  for (const m of field.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(/^[0-9]+$/.test(m[2]) ? Number(m[2]) : m[2]);
  }
  return out;
}

/** A text parsed once to find field lines in it (see {@link lineOfPath}). */
export interface ParsedForLines {
  readonly docs: readonly Document.Parsed[];
  readonly lines: LineCounter;
}

/** Parse `text` for {@link lineOfPath}; undefined when the parser cannot read it at all. */
export function parseForLines(text: string): ParsedForLines | undefined {
  const lines = new LineCounter();
  try {
    const docs = parseAllDocuments(text, { version: "1.1", schema: "failsafe", uniqueKeys: false, lineCounter: lines });
    return Array.isArray(docs) ? { docs: docs as Document.Parsed[], lines } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The 1-based line (within the parsed text) of the node at `path` + `field` in
 * document `index`, or of the deepest node on the way when the path does not exist
 * there (a missing field is reported where its parent is). A mapping entry is found
 * at its key.
 */
export function lineOfPath(
  parsed: ParsedForLines,
  index: number,
  path: readonly (string | number)[],
  field: string,
): number | undefined {
  const doc = parsed.docs[index];
  if (doc === undefined) return undefined;
  let node: Node | null | undefined = doc.contents as Node | null;
  let at = node?.range?.[0];
  for (const step of [...path, ...steps(field)]) {
    if (node instanceof Alias) node = node.resolve(doc) as Node | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (pair === undefined) break;
      at = (pair.key as Node).range?.[0] ?? at;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof step === "number") {
      const item = node.items[step] as Node | undefined;
      if (item === undefined) break;
      node = item;
      at = item.range?.[0] ?? at;
    } else break;
  }
  return at === undefined ? undefined : parsed.lines.linePos(at).line;
}

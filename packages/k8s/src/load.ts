/**
 * Manifest loading: multi-document YAML, JSON, and `List` objects as
 * `kubectl get -o yaml|json` prints them. Unknown kinds are reported, never
 * dropped silently.
 */
import { parseAllDocuments, stringify, type Tags } from "yaml";
import { KIND_API_VERSIONS, type KubeKind, type KubeObject } from "./objects.js";
import { type DocumentRef, ManifestError, type ManifestProblem, type ObjectRef } from "./problem.js";

/** A named piece of manifest text (a file's contents and its name for messages). */
export interface ManifestText {
  /** Name shown in problems, usually the file path. */
  readonly name: string;
  /** The YAML or JSON text. */
  readonly text: string;
}

/** One loaded object and where it came from. */
export interface LoadedObject {
  /** The object, as written (not defaulted). */
  readonly object: KubeObject;
  /** Where it was found. */
  readonly source: DocumentRef;
}

/** What {@link parseManifests} found: good objects and every problem. */
export interface ParseResult {
  /** Objects of known kinds, in document order. */
  readonly objects: readonly LoadedObject[];
  /** Problems: syntax errors, non-objects, unknown kinds, wrong apiVersions. */
  readonly problems: readonly ManifestProblem[];
}

/** Options for loading. */
export interface LoadOptions {
  /**
   * Treat unknown kinds (ConfigMap, Deployment, ...) as not worth an error:
   * {@link loadManifests} then skips them. {@link parseManifests} still lists them as
   * `unknown-kind` problems either way. Default false.
   */
  readonly skipUnknownKinds?: boolean;
}

const KNOWN = new Set(Object.keys(KIND_API_VERSIONS));

/** The YAML 1.1 tags minus what go-yaml v2 does not resolve for untyped values (timestamps, sexagesimals). */
function goYamlTags(tags: Tags): Tags {
  return tags.filter((t) => {
    const tag = typeof t === "string" ? t : t.tag;
    const format = typeof t === "string" ? undefined : (t as { format?: string }).format;
    return tag !== "tag:yaml.org,2002:timestamp" && format !== "TIME";
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function refOf(v: Record<string, unknown>): ObjectRef {
  const ref: { kind?: string; namespace?: string; name?: string } = {};
  if (typeof v.kind === "string") ref.kind = v.kind;
  const md = v.metadata;
  if (isRecord(md)) {
    if (typeof md.namespace === "string") ref.namespace = md.namespace;
    if (typeof md.name === "string") ref.name = md.name;
  }
  return ref;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Classify one decoded value (object or List) into objects and problems. */
function admit(
  value: unknown,
  source: DocumentRef,
  objects: LoadedObject[],
  problems: ManifestProblem[],
  inferredKind?: string,
  inferredApiVersion?: string,
): void {
  if (!isRecord(value)) {
    problems.push({
      code: "shape",
      field: "",
      message: `document must be an object with apiVersion and kind, got ${Array.isArray(value) ? "an array" : typeof value}`,
      source,
    });
    return;
  }
  let v = value;
  if (v.kind === undefined && inferredKind !== undefined) {
    v = { apiVersion: inferredApiVersion, kind: inferredKind, ...v };
  }
  const object = refOf(v);
  if (typeof v.kind === "string" && v.kind.endsWith("List") && source.item === undefined && "items" in v) {
    const items = v.items;
    if (items === null || items === undefined) return;
    if (!Array.isArray(items)) {
      problems.push({ code: "shape", field: "items", message: "must be an array", source, object });
      return;
    }
    const itemKind = v.kind === "List" ? undefined : v.kind.slice(0, -"List".length);
    const itemApi = typeof v.apiVersion === "string" ? v.apiVersion : undefined;
    items.forEach((item, i) => {
      admit(item, { ...source, item: i }, objects, problems, itemKind, itemApi);
    });
    return;
  }
  if (typeof v.kind !== "string" || v.kind === "") {
    problems.push({ code: "required", field: "kind", message: "must be set (e.g. Service, Pod)", source, object });
    return;
  }
  if (typeof v.apiVersion !== "string" || v.apiVersion === "") {
    problems.push({ code: "required", field: "apiVersion", message: "must be set (e.g. v1)", source, object });
    return;
  }
  if (!KNOWN.has(v.kind)) {
    problems.push({
      code: "unknown-kind",
      field: "kind",
      message: `unknown kind ${JSON.stringify(v.kind)} (${v.apiVersion}): knet reads ${[...KNOWN].join(", ")}`,
      source,
      object,
    });
    return;
  }
  const want = KIND_API_VERSIONS[v.kind as KubeKind];
  if (v.apiVersion !== want) {
    problems.push({
      code: "api-version",
      field: "apiVersion",
      message: `${v.kind} is read as apiVersion ${want}, got ${JSON.stringify(v.apiVersion)}`,
      source,
      object,
    });
    return;
  }
  for (const key of ["metadata", "spec"] as const) {
    if (v[key] !== undefined && v[key] !== null && !isRecord(v[key])) {
      problems.push({ code: "shape", field: key, message: "must be an object", source, object });
      return;
    }
  }
  objects.push({ object: v as unknown as KubeObject, source });
}

function parseOne(input: ManifestText | string, objects: LoadedObject[], problems: ManifestProblem[]): void {
  const name = typeof input === "string" ? undefined : input.name;
  const text = typeof input === "string" ? input : input.text;
  const base = name !== undefined ? { source: name } : {};
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      problems.push({
        code: "syntax",
        field: "",
        message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}`,
        source: { ...base, document: 1 },
      });
      return;
    }
    admit(value, { ...base, document: 1 }, objects, problems);
    return;
  }
  // YAML 1.1 as kubectl's go-yaml v2 reads it: `on`/`yes`/`y` are booleans, `0755` is octal,
  // but timestamps stay strings and there are no base-60 numbers (`1:30` is a string).
  const docs = parseAllDocuments(text, { version: "1.1", prettyErrors: false, customTags: goYamlTags });
  let n = 0;
  for (const doc of docs) {
    n++;
    const line = lineOf(text, doc.contents?.range?.[0] ?? doc.range[0]);
    const source: DocumentRef = { ...base, document: n, line };
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const at = err.linePos?.[0];
        problems.push({
          code: "syntax",
          field: "",
          message: `invalid YAML${at !== undefined ? ` at line ${at.line} column ${at.col}` : ""}: ${err.message.split("\n")[0]}`,
          source,
        });
      }
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // empty document (e.g. a trailing ---)
    admit(value, source, objects, problems);
  }
}

/**
 * Parse manifests without throwing: every object of a known kind plus every
 * problem (syntax, shape, unknown kind, apiVersion). Accepts one text or many
 * named texts (files). Objects are returned as written, not defaulted.
 */
export function parseManifests(input: string | ManifestText | readonly (ManifestText | string)[]): ParseResult {
  const objects: LoadedObject[] = [];
  const problems: ManifestProblem[] = [];
  const inputs = Array.isArray(input) ? input : [input as ManifestText | string];
  for (const one of inputs) parseOne(one, objects, problems);
  return { objects, problems };
}

/**
 * Load manifests (multi-document YAML, JSON, `List`s) into typed objects, as written
 * (apply `defaultObject` for API-server defaults).
 *
 * @throws {@link ManifestError} listing every problem, when any document is unreadable or
 * of an unknown kind (unless `skipUnknownKinds`).
 */
export function loadManifests(
  input: string | ManifestText | readonly (ManifestText | string)[],
  options: LoadOptions = {},
): KubeObject[] {
  const { objects, problems } = parseManifests(input);
  const fatal = options.skipUnknownKinds === true ? problems.filter((p) => p.code !== "unknown-kind") : problems;
  if (fatal.length > 0) throw new ManifestError(fatal);
  return objects.map((o) => o.object);
}

/** Output format for {@link serializeManifests}. */
export type ManifestFormat = "yaml" | "json";

/**
 * Write objects back out: YAML documents separated by `---`, or one JSON `List`
 * (`kubectl get -o json` style). `loadManifests` reads both back to equal objects.
 */
export function serializeManifests(objects: readonly KubeObject[], format: ManifestFormat = "yaml"): string {
  if (format === "json") {
    return `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`;
  }
  return objects.map((o) => stringify(o, { version: "1.1", lineWidth: 0 })).join("---\n");
}

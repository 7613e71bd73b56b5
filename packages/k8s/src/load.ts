/**
 * Manifest loading: any YAML stream kubectl reads (documents between `---` lines,
 * JSON documents, JSON values back to back), and `List` objects as
 * `kubectl get -o yaml|json` prints them. Scalars resolve as kubectl's go-yaml does.
 * Unknown kinds are reported, never dropped silently.
 */
import { stringify } from "yaml";
import { lineOfPath, type ParsedForLines, parseForLines } from "./internal/yaml/full.js";
import { readStream, type StreamDocument } from "./internal/yaml/stream.js";
import { type ExtensionObject, isBuiltinKind, kindDefinition, registeredKinds, servesApiVersion } from "./kinds.js";
import type { KubeObject } from "./objects.js";
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

/** One loaded object of a kind another package registered (see `registerKind`). */
export interface LoadedExtension {
  /** The object, as written (not defaulted). */
  readonly object: ExtensionObject;
  /** Where it was found. */
  readonly source: DocumentRef;
}

/** What {@link parseManifests} found: good objects and every problem. */
export interface ParseResult {
  /** Objects of this package's own kinds, in document order. */
  readonly objects: readonly LoadedObject[];
  /** Objects of kinds other packages registered, in document order. */
  readonly extensions: readonly LoadedExtension[];
  /** Problems: syntax errors, non-objects, unknown kinds, wrong apiVersions. */
  readonly problems: readonly ManifestProblem[];
  /**
   * Point problems about these texts at the line of their field: returns each problem
   * with `source.line` set to the line of `field` (or of the nearest enclosing node
   * written in the text), when it can be found. Problems already located are kept.
   */
  readonly locate?: (problems: readonly ManifestProblem[]) => ManifestProblem[];
}

/** Options for {@link parseManifests}. */
export interface ParseOptions {
  /**
   * Largest document, in characters, read by the full YAML parser (needed for anchors,
   * tags, folded or multi-line scalars, and to word syntax errors), which holds a node
   * tree of the whole document. Block-style YAML as kubectl prints it and JSON are read
   * at any size. Default 8 MiB; a larger document that needs the full parser is reported.
   */
  readonly maxFullParseBytes?: number;
}

/** Default for {@link ParseOptions.maxFullParseBytes}. */
export const DEFAULT_MAX_FULL_PARSE_BYTES = 8 * 1024 * 1024;

/** Options for loading. */
export interface LoadOptions extends ParseOptions {
  /**
   * Treat unknown kinds (ConfigMap, Deployment, ...) as not worth an error:
   * {@link loadManifests} then skips them. {@link parseManifests} still lists them as
   * `unknown-kind` problems either way. Default false.
   */
  readonly skipUnknownKinds?: boolean;
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

/** Classify one decoded value (object or List) into objects and problems. */
function admit(
  value: unknown,
  source: DocumentRef,
  objects: LoadedObject[],
  problems: ManifestProblem[],
  extensions: LoadedExtension[],
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
      admit(item, { ...source, item: i }, objects, problems, extensions, itemKind, itemApi);
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
  const definition = kindDefinition(v.kind);
  if (definition === undefined) {
    problems.push({
      code: "unknown-kind",
      field: "kind",
      message: `unknown kind ${JSON.stringify(v.kind)} (${v.apiVersion}): knet reads ${registeredKinds()
        .map((k) => k.kind)
        .join(", ")}`,
      source,
      object,
    });
    return;
  }
  if (!servesApiVersion(definition, v.apiVersion)) {
    const want = [definition.apiVersion, ...(definition.servedVersions ?? [])].join(" or ");
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
  const shape = definition.shape?.(v) ?? [];
  if (shape.length > 0) {
    for (const p of shape) problems.push({ ...p, source, object });
    return;
  }
  if (isBuiltinKind(v.kind)) objects.push({ object: v as unknown as KubeObject, source });
  else extensions.push({ object: v as unknown as ExtensionObject, source });
}

/** Where each document came from, to find a field's line when a problem needs it. */
interface Origin {
  readonly text: string;
  readonly doc: StreamDocument;
}

function parseOne(
  input: ManifestText | string,
  objects: LoadedObject[],
  problems: ManifestProblem[],
  extensions: LoadedExtension[],
  origins: Map<string, Origin>,
  limits: { maxFullParseBytes: number },
): void {
  const name = typeof input === "string" ? undefined : input.name;
  let text = typeof input === "string" ? input : input.text;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark
  const base = name !== undefined ? { source: name } : {};
  let n = 0;
  for (const doc of readStream(text, limits)) {
    n++;
    const source: DocumentRef = { ...base, document: n, line: doc.line };
    origins.set(`${name ?? ""}\0${n}`, { text, doc });
    if (doc.issues !== undefined) {
      for (const issue of doc.issues) {
        problems.push({
          code: "syntax",
          field: issue.field ?? "",
          message: issue.message,
          source: { ...source, line: issue.line ?? doc.line },
        });
      }
      continue;
    }
    if (doc.value === null || doc.value === undefined) continue; // an empty document
    admit(doc.value, source, objects, problems, extensions);
  }
}

/** A `locate` for {@link ParseResult}: field lines, parsing each document's text at most once per call. */
function locator(origins: ReadonlyMap<string, Origin>, maxBytes: number) {
  return (problems: readonly ManifestProblem[]): ManifestProblem[] => {
    const cache = new Map<string, ParsedForLines | undefined>();
    return problems.map((p) => {
      const src = p.source;
      if (src === undefined || p.code === "syntax" || (p.field === "" && src.item === undefined)) return p;
      const origin = origins.get(`${src.source ?? ""}\0${src.document}`);
      if (origin === undefined) return p;
      const { doc, text } = origin;
      if (doc.end - doc.start > maxBytes) return p;
      const key = `${src.source ?? ""}\0${doc.start}`;
      let parsed = cache.get(key);
      if (!cache.has(key)) {
        parsed = parseForLines(text.slice(doc.start, doc.end));
        cache.set(key, parsed);
      }
      if (parsed === undefined) return p;
      const line = lineOfPath(parsed, doc.index, src.item !== undefined ? ["items", src.item] : [], p.field);
      return line === undefined ? p : { ...p, source: { ...src, line: line + doc.startLine - 1 } };
    });
  };
}

/**
 * Parse manifests without throwing: every object of a registered kind (this
 * package's in `objects`, other packages' in `extensions`) plus every problem
 * (syntax, shape, unknown kind, apiVersion). Accepts one text or many
 * named texts (files). Objects are returned as written, not defaulted.
 */
export function parseManifests(
  input: string | ManifestText | readonly (ManifestText | string)[],
  options: ParseOptions = {},
): ParseResult {
  const objects: LoadedObject[] = [];
  const problems: ManifestProblem[] = [];
  const extensions: LoadedExtension[] = [];
  const origins = new Map<string, Origin>();
  const limits = { maxFullParseBytes: options.maxFullParseBytes ?? DEFAULT_MAX_FULL_PARSE_BYTES };
  const inputs = Array.isArray(input) ? input : [input as ManifestText | string];
  for (const one of inputs) parseOne(one, objects, problems, extensions, origins, limits);
  const locate = locator(origins, limits.maxFullParseBytes);
  return { objects, extensions, problems: problems.length > 0 ? locate(problems) : problems, locate };
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
  const { objects, problems } = parseManifests(input, options);
  const fatal = options.skipUnknownKinds === true ? problems.filter((p) => p.code !== "unknown-kind") : problems;
  if (fatal.length > 0) throw new ManifestError(fatal);
  return objects.map((o) => o.object);
}

/** One document of a YAML or JSON stream read by {@link readDocuments}: its value, or why it cannot be read. */
export interface ReadDocument {
  /** 1-based line of the document's first content. */
  readonly line: number;
  /** The value (JSON-shaped; `null` for an empty document), when it could be read. */
  readonly value?: unknown;
  /** Why it could not be read, each with its 1-based line when known. */
  readonly problems?: readonly { readonly message: string; readonly line?: number }[];
}

/**
 * Read a YAML stream (or JSON) into plain values the way {@link parseManifests}
 * reads manifests (go-yaml's scalars, duplicate keys and syntax errors reported,
 * documents split at `---`), for files that are not Kubernetes objects, such as a
 * component's configuration. Never throws.
 */
export function readDocuments(text: string, options: ParseOptions = {}): ReadDocument[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const limits = { maxFullParseBytes: options.maxFullParseBytes ?? DEFAULT_MAX_FULL_PARSE_BYTES };
  return readStream(body, limits).map((d) =>
    d.issues !== undefined
      ? { line: d.line, problems: d.issues.map((i) => ({ message: i.message, line: i.line ?? d.line })) }
      : { line: d.line, value: d.value ?? null },
  );
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

/**
 * Problems found while loading or validating manifests. Each one names where it
 * is (file, document, List item), which object (kind, namespace/name) and which
 * field, so a user can fix it without searching.
 */

/** Where a document came from. */
export interface DocumentRef {
  /** The file name (or label) the text came from, when known. */
  readonly source?: string;
  /** 1-based document number inside that text (YAML `---` documents; JSON counts as one). */
  readonly document: number;
  /** 0-based item index when the object came from a `List`'s `items`. */
  readonly item?: number;
  /** 1-based line of the problem's field when it can be found in the text, else where the document (or List item) starts. */
  readonly line?: number;
}

/** Which object a problem is about (as far as it could be read). */
export interface ObjectRef {
  /** `kind`, when present. */
  readonly kind?: string;
  /** `metadata.namespace`, when present. */
  readonly namespace?: string;
  /** `metadata.name`, when present. */
  readonly name?: string;
}

/** What kind of problem. */
export type ProblemCode =
  /** The text is not valid YAML or JSON. */
  | "syntax"
  /** The document is not an object, or a field has the wrong JSON type. */
  | "shape"
  /** `kind` is not one knet understands. */
  | "unknown-kind"
  /** The kind is known but not in this apiVersion. */
  | "api-version"
  /** A required field is missing. */
  | "required"
  /** A field has a value the API server would reject. */
  | "invalid"
  /** A field is set where it is not allowed. */
  | "forbidden"
  /** A field the kind's schema does not have (a typo, or a field of a newer version). */
  | "unknown-field"
  /** Two objects (or two list entries) collide. */
  | "duplicate";

/** One problem, with the field path in the API server's notation (`spec.ports[0].port`). */
export interface ManifestProblem {
  /** What went wrong. */
  readonly code: ProblemCode;
  /** Field path from the object root, `""` for the whole document. */
  readonly field: string;
  /** What is wrong and, where it helps, how to fix it. */
  readonly message: string;
  /** Where the document is, when the problem came from loaded text. */
  readonly source?: DocumentRef;
  /** The object the problem is about. */
  readonly object?: ObjectRef;
}

/** A name as printed in a message: at most 64 characters, longer ones cut with `...`. */
function short(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

/** Render `kind ns/name` (or `kind name` for cluster-scoped objects); long names are cut. */
export function formatObjectRef(ref: ObjectRef | undefined): string {
  if (ref === undefined) return "";
  const kind = short(ref.kind ?? "<no kind>");
  const name = short(ref.name ?? "<no name>");
  return ref.namespace !== undefined ? `${kind} ${short(ref.namespace)}/${name}` : `${kind} ${name}`;
}

/** Render a document reference: `file.yaml document 2 item 3 (line 14)`. */
export function formatDocumentRef(ref: DocumentRef | undefined): string {
  if (ref === undefined) return "";
  let s = `${ref.source !== undefined ? `${ref.source} ` : ""}document ${ref.document}`;
  if (ref.item !== undefined) s += ` item ${ref.item}`;
  if (ref.line !== undefined) s += ` (line ${ref.line})`;
  return s;
}

/** One line for a user: `file.yaml document 2 (line 9): Service shop/api: spec.ports[0].port: must be ...`. */
export function formatProblem(p: ManifestProblem): string {
  const parts: string[] = [];
  const where = formatDocumentRef(p.source);
  if (where !== "") parts.push(where);
  const obj = formatObjectRef(p.object);
  if (obj !== "") parts.push(obj);
  if (p.field !== "") parts.push(p.field);
  parts.push(p.message);
  return parts.join(": ");
}

/** Thrown by `loadManifests` and the `assert*` helpers: carries every problem found, not just the first. */
export class ManifestError extends Error {
  override readonly name = "ManifestError";
  /** Every problem, in document order. */
  readonly problems: readonly ManifestProblem[];
  constructor(problems: readonly ManifestProblem[]) {
    const first = problems[0];
    const head = first !== undefined ? formatProblem(first) : "invalid manifests";
    super(problems.length > 1 ? `${head} (and ${problems.length - 1} more problems)` : head);
    this.problems = problems;
  }
}

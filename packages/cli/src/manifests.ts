import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  ClusterSource,
  ClusterState,
  type DocumentRef,
  type ExtensionObject,
  formatDocumentRef,
  formatObjectRef,
  formatProblem,
  type KubeObject,
  type LoadedObject,
  loadKubeconfig,
  type ManifestProblem,
  type ManifestText,
  NAMESPACED_KINDS,
  parseManifests,
  serializeManifests,
  validateManifests,
} from "@knet/k8s";
import { CliError, ExitCode, type Io } from "./cli.js";

/**
 * Read `-f` inputs as named manifest texts: a file, `-` for stdin, or a
 * directory (like `kubectl -f DIR`: its .yaml, .yml and .json files in name
 * order). No input, or an unreadable file, is a usage error (exit 2) naming the
 * command and the file.
 */
export function readManifestTexts(files: readonly string[] | undefined, command: string): ManifestText[] {
  if (!files || files.length === 0)
    throw new CliError(`${command}: no input: give -f FILE (see 'knet ${command} --help')`, ExitCode.usage);
  const texts: ManifestText[] = [];
  for (const f of files) {
    try {
      if (f === "-") {
        texts.push({ name: "<stdin>", text: readFileSync(0, "utf8") });
      } else if (statSync(f).isDirectory()) {
        for (const entry of readdirSync(f).sort()) {
          if (!/\.(ya?ml|json)$/.test(entry)) continue;
          const path = join(f, entry);
          texts.push({ name: path, text: readFileSync(path, "utf8") });
        }
      } else {
        texts.push({ name: f, text: readFileSync(f, "utf8") });
      }
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new CliError(`${command}: cannot read ${f}: ${why}`, ExitCode.usage);
    }
  }
  return texts;
}

/** The flags of every command that reads manifests and may skip objects. */
export const INPUT_FLAGS = {
  filename: { type: "string", short: "f", multiple: true },
  strict: { type: "boolean" },
} as const;

/** `--kubeconfig`/`--context`: read a live cluster instead of (or besides) files. */
export const LIVE_FLAGS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
} as const;

/**
 * A live cluster as one manifest text: every Namespace, Node, Pod, Service,
 * EndpointSlice and NetworkPolicy its API server lists (one list each, as the
 * API server stores them), named `cluster https://...`. Undefined without
 * `--kubeconfig`. An unreachable server is exit 1, a bad kubeconfig exit 2.
 */
export async function liveTexts(
  values: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined },
  command: string,
): Promise<ManifestText[] | undefined> {
  if (values.kubeconfig === undefined) {
    if (values.context !== undefined) throw new CliError(`${command}: --context goes with --kubeconfig PATH`);
    return undefined;
  }
  let conn: ReturnType<typeof loadKubeconfig>;
  try {
    conn = loadKubeconfig(values.kubeconfig, values.context);
  } catch (e) {
    throw new CliError(`${command}: ${(e as Error).message}`);
  }
  const state = new ClusterState({ applyDefaults: false, endpointSliceController: false });
  const source = new ClusterSource(conn, state);
  try {
    await source.start();
  } catch (e) {
    throw new CliError(`${command}: ${conn.server}: ${(e as Error).message}`, ExitCode.negative);
  } finally {
    source.stop();
  }
  return [{ name: `cluster ${conn.server}`, text: serializeManifests(state.all(), "json") }];
}

/** `-n`/`--namespace`, for the commands where kubectl users expect it. */
export const NAMESPACE_FLAG = { namespace: { type: "string", short: "n" } } as const;

/**
 * Objects a command cannot use, reported on stderr as they are found, one line
 * each with the object, where it is and why, then one closing line with the
 * hint (`run knet validate -f ...`). Under `--strict`, {@link Skips.finish}
 * fails the command (exit 2) instead of going on without them.
 */
export class Skips {
  /** Skipped things by unit (`object`, `value`), in the order first seen. */
  private readonly counts = new Map<string, number>();
  private readonly command: string;
  private readonly io: Io;
  private readonly strict: boolean;
  private readonly files: readonly string[];

  constructor(command: string, io: Io, strict: boolean, files: readonly string[]) {
    this.command = command;
    this.io = io;
    this.strict = strict;
    this.files = files;
  }

  /**
   * Report one skipped object (`what` as `Kind ns/name`), or `count` of them named
   * together in `what`; `unit` names what was skipped when it is not a whole object
   * (`value`: one address in an object, as kube-proxy skips it).
   */
  skip(what: string, where: DocumentRef | undefined, reason: string, count = 1, unit = "object"): void {
    this.counts.set(unit, (this.counts.get(unit) ?? 0) + count);
    const at = where === undefined ? "" : ` (${formatDocumentRef(where)})`;
    this.io.err(`knet ${this.command}: ${this.strict ? "cannot use" : "skipped"} ${what}${at}: ${reason}\n`);
  }

  /** How many things (objects and values) were skipped so far. */
  get size(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Print the closing hint; under `--strict`, throw when anything was skipped. */
  finish(): void {
    if (this.size === 0) return;
    const n = [...this.counts]
      .filter(([, c]) => c > 0)
      .map(([unit, c]) => `${c} ${unit}${c === 1 ? "" : "s"}`)
      .join(" and ");
    const files = this.files.map((f) => `-f ${/^[\w./@:+-]+$/.test(f) ? f : `'${f.replace(/'/g, "'\\''")}'`}`);
    const hint = `run 'knet validate ${files.join(" ")}' for every problem`;
    if (this.strict) throw new CliError(`${this.command}: ${n} cannot be used (--strict): ${hint}`, ExitCode.usage);
    this.io.err(`knet ${this.command}: ${n} skipped: ${hint}, or add --strict to fail instead\n`);
  }
}

/** What {@link readInputs} admitted: the objects, where each came from, and the skip report. */
export interface Inputs {
  /** Objects as written (not defaulted), in document order. */
  readonly objects: KubeObject[];
  /** Objects of the registered extension kinds the command asked for (CRDs such as ServiceImport). */
  readonly extensions: ExtensionObject[];
  /** Where each object came from. */
  readonly sources: ReadonlyMap<KubeObject, DocumentRef>;
  /** The skip report; call `finish()` once the command has skipped what it will. */
  readonly skips: Skips;
}

/** Which objects {@link readInputs} drops before the command sees them. */
export type Admission =
  /** Objects the API server would reject (invalid fields, duplicates, a ClusterIP claimed twice). */
  | "api"
  /** Only duplicates: the component reads objects leniently and skips what it cannot parse itself. */
  | "duplicates";

function sourceKey(s: DocumentRef | undefined): string {
  return s === undefined ? "" : `${s.source ?? ""}\u0000${s.document}\u0000${s.item ?? ""}`;
}

/** `-n NS` as `kubectl apply -n NS -f` takes it: fills a missing namespace, refuses another one. */
export function inNamespace(loaded: readonly LoadedObject[], namespace: string | undefined): LoadedObject[] {
  if (namespace === undefined) return [...loaded];
  return loaded.map((l) => {
    if (!NAMESPACED_KINDS.has(l.object.kind)) return l;
    const given = l.object.metadata?.namespace;
    if (given !== undefined && given !== "" && given !== namespace)
      throw new CliError(
        `the namespace from the provided object "${given}" does not match the namespace "${namespace}" (${formatObjectRef({ kind: l.object.kind, namespace: given, ...(l.object.metadata?.name !== undefined ? { name: l.object.metadata.name } : {}) })}, ${formatDocumentRef(l.source)}): pass '-n ${given}' or drop -n`,
        ExitCode.usage,
      );
    return { ...l, object: { ...l.object, metadata: { ...l.object.metadata, namespace } } as KubeObject };
  });
}

function describe(p: ManifestProblem): string {
  return formatObjectRef(p.object) || "document";
}

/**
 * Read and admit the `-f` inputs of `command`. Documents that cannot be read
 * (syntax, shape, apiVersion) fail the command (exit 2). Objects of kinds knet
 * does not read, duplicates, and (for `api` admission) objects the API server
 * would reject are reported on stderr and skipped, or fail under `--strict`.
 */
export function readInputs(
  values: { readonly filename?: string[] | undefined; readonly strict?: boolean | undefined },
  command: string,
  io: Io,
  options: {
    readonly admission: Admission;
    /** Extension kinds (registered with `@knet/k8s`) the command reads; others are skipped and reported. */
    readonly extensions?: readonly string[];
    /** Texts read before the `-f` files (a live cluster, {@link liveTexts}); with them, `-f` may be absent. */
    readonly live?: readonly ManifestText[] | undefined;
  },
): Inputs {
  const files = values.filename ?? [];
  const texts = [
    ...(options.live ?? []),
    ...(options.live !== undefined && files.length === 0 ? [] : readManifestTexts(files, command)),
  ];
  const parsed = parseManifests(texts);
  const unreadable = parsed.problems.filter((p) => p.code !== "unknown-kind");
  if (unreadable.length > 0) {
    const more = unreadable.length > 1 ? ` (and ${unreadable.length - 1} more: run 'knet validate')` : "";
    throw new CliError(`${command}: ${formatProblem(unreadable[0] as ManifestProblem)}${more}`, ExitCode.usage);
  }
  const skips = new Skips(command, io, values.strict === true, files);
  for (const p of parsed.problems)
    skips.skip(describe(p), p.source, `knet ${command} does not read ${p.object?.kind ?? "this kind of"} objects`);

  const loaded = parsed.objects;
  const report = validateManifests({ ...parsed, objects: loaded, problems: [] }, { unknownFields: "ignore" });
  const reasons = new Map<string, ManifestProblem[]>();
  for (const p of report.problems) {
    if (options.admission === "duplicates" && p.code !== "duplicate") continue;
    const k = sourceKey(p.source);
    reasons.set(k, [...(reasons.get(k) ?? []), p]);
  }
  const objects: KubeObject[] = [];
  const sources = new Map<KubeObject, DocumentRef>();
  for (const l of loaded) {
    const why = reasons.get(sourceKey(l.source));
    if (why !== undefined) {
      const first = why[0] as ManifestProblem;
      const more = why.length > 1 ? ` (and ${why.length - 1} more)` : "";
      const reason =
        first.code === "duplicate"
          ? `duplicate: ${first.message.replace(/^Duplicate value: "[^"]*": /, "")}; the first one is used`
          : `${first.field ? `${first.field}: ` : ""}${first.message}${more}`;
      skips.skip(formatObjectRef(first.object ?? { kind: l.object.kind }), l.source, reason);
      continue;
    }
    objects.push(l.object);
    sources.set(l.object, l.source);
  }
  const wanted = new Set(options.extensions ?? []);
  const extensions: ExtensionObject[] = [];
  for (const e of parsed.extensions) {
    const why = reasons.get(sourceKey(e.source));
    if (!wanted.has(e.object.kind) || why !== undefined) {
      const md = e.object.metadata;
      const what = formatObjectRef({
        kind: e.object.kind,
        ...(md?.namespace !== undefined ? { namespace: md.namespace } : {}),
        ...(md?.name !== undefined ? { name: md.name } : {}),
      });
      const first = why?.[0];
      skips.skip(
        what,
        e.source,
        first === undefined
          ? `knet ${command} does not read ${e.object.kind} objects`
          : `${first.field ? `${first.field}: ` : ""}${first.message}`,
      );
      continue;
    }
    extensions.push(e.object);
  }
  return { objects, extensions, sources, skips };
}

/** Where `object` came from, formatted, for messages. */
export function objectName(object: KubeObject): string {
  const md = object.metadata;
  return formatObjectRef({
    kind: object.kind,
    ...(md?.namespace !== undefined && NAMESPACED_KINDS.has(object.kind) ? { namespace: md.namespace } : {}),
    ...(md?.name !== undefined ? { name: md.name } : {}),
  });
}

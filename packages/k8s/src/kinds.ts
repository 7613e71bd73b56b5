/**
 * The kind registry: which apiVersion/kind pairs knet reads, whether their
 * objects are namespaced, and (for kinds other packages add: Gateway API,
 * NetworkAttachmentDefinition, ServiceImport...) their shape check, defaulting
 * and validation. Manifest loading reads it, so a package registers its CRDs
 * here instead of editing this package; kinds nobody registered are still
 * reported as `unknown-kind` problems.
 */
import type { DefaultingOptions } from "./defaults.js";
import { KIND_API_VERSIONS, type KubeKind, NAMESPACED_KINDS, type ObjectMeta } from "./objects.js";
import type { ManifestProblem } from "./problem.js";
import type { ValidationOptions } from "./validation-options.js";

/** An object of a kind registered by another package, as loaded (not typed further here). */
export interface ExtensionObject {
  /** `group/version`. */
  readonly apiVersion: string;
  /** The kind. */
  readonly kind: string;
  /** Standard object metadata. */
  readonly metadata?: ObjectMeta;
  /** The kind's own fields (`spec`, `status`...). */
  readonly [field: string]: unknown;
}

/** A problem a kind's hooks report: the field path from the object root and what is wrong. */
export type KindProblem = Pick<ManifestProblem, "code" | "field" | "message">;

/** What the registry knows about one kind. */
export interface KindDefinition<T extends ExtensionObject = ExtensionObject> {
  /** The apiVersion objects of this kind are read from (`gateway.networking.k8s.io/v1`). */
  readonly apiVersion: string;
  /**
   * Other apiVersions the kind is served at (a CRD serving several versions with one
   * schema, as the Gateway API serves v1 and v1beta1): objects at these are read as
   * at `apiVersion`.
   */
  readonly servedVersions?: readonly string[];
  /** The kind (`HTTPRoute`). */
  readonly kind: string;
  /** Whether objects live in a namespace (`metadata.namespace`, default `default`). */
  readonly namespaced: boolean;
  /**
   * Structural check of the raw document, after `metadata` and `spec` were found
   * to be objects (or absent): wrong JSON types as `shape` problems. An object
   * with problems here is not loaded.
   */
  readonly shape?: (object: Readonly<Record<string, unknown>>) => readonly KindProblem[];
  /** API-server defaulting; returns a new object, never changes its input. */
  readonly defaults?: (object: T, options: DefaultingOptions) => T;
  /** Validation of the defaulted object, as the API server (or the CRD's schema and webhook) does. */
  readonly validate?: (object: T, options: ValidationOptions) => readonly KindProblem[];
}

/** A kind registered twice with different definitions, or a definition with an empty name. */
export class KindRegistryError extends Error {
  override readonly name = "KindRegistryError";
  /** The kind in question. */
  readonly kind: string;

  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
  }
}

const registry = new Map<string, KindDefinition>();
for (const [kind, apiVersion] of Object.entries(KIND_API_VERSIONS)) {
  registry.set(kind, { apiVersion, kind, namespaced: NAMESPACED_KINDS.has(kind as KubeKind) });
}
const BUILTIN = new Set<string>(registry.keys());

/**
 * Register a kind. Registering an identical definition again is a no-op.
 * @throws {@link KindRegistryError} when the kind is a built-in one or already registered differently.
 */
export function registerKind<T extends ExtensionObject>(definition: KindDefinition<T>): void {
  const { kind, apiVersion } = definition;
  if (kind === "" || apiVersion === "")
    throw new KindRegistryError(kind, "a kind definition needs a non-empty kind and apiVersion");
  if (BUILTIN.has(kind))
    throw new KindRegistryError(kind, `${kind} is a built-in kind of @knet/k8s (${registry.get(kind)?.apiVersion})`);
  const had = registry.get(kind);
  if (had === (definition as unknown as KindDefinition)) return;
  if (had !== undefined)
    throw new KindRegistryError(
      kind,
      `kind ${kind} is already registered (apiVersion ${had.apiVersion}); register each kind once`,
    );
  registry.set(kind, definition as unknown as KindDefinition);
}

/** The definition of `kind`, or `undefined` when no package registered it. */
export function kindDefinition(kind: string): KindDefinition | undefined {
  return registry.get(kind);
}

/** Every registered kind (built-in ones first, then in registration order). */
export function registeredKinds(): readonly KindDefinition[] {
  return [...registry.values()];
}

/** Whether objects of a registered kind are read at `apiVersion` (its own or one of its served versions). */
export function servesApiVersion(definition: KindDefinition, apiVersion: string): boolean {
  return definition.apiVersion === apiVersion || (definition.servedVersions ?? []).includes(apiVersion);
}

/** Whether `kind` is one of this package's own kinds (typed as `KubeObject`s). */
export function isBuiltinKind(kind: string): kind is KubeKind {
  return BUILTIN.has(kind);
}

/** Whether objects of `kind` are namespaced; `undefined` for a kind nobody registered. */
export function isNamespacedKind(kind: string): boolean | undefined {
  return registry.get(kind)?.namespaced;
}

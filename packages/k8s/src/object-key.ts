/**
 * An object's namespace and `namespace/name` key, with the API server's
 * defaulting (a namespaced object without `metadata.namespace` is in `default`).
 */

/** The metadata these helpers read. */
export interface ObjectNameRef {
  /** Object metadata, possibly absent. */
  readonly metadata?: { readonly namespace?: string | undefined; readonly name?: string | undefined } | undefined;
}

/** The namespace a namespaced object lives in: `metadata.namespace`, else `default`. */
export function namespaceOf(obj: ObjectNameRef): string {
  const ns = obj.metadata?.namespace;
  return ns === undefined || ns === "" ? "default" : ns;
}

/** `namespace/name` of a namespaced object (namespace defaulted, a missing name as ""). */
export function objectKey(obj: ObjectNameRef): string {
  return `${namespaceOf(obj)}/${obj.metadata?.name ?? ""}`;
}

/**
 * `knet validate --server-side`: each object is sent to a real API server as a
 * dry-run create (`POST ...?dryRun=All`), or, when it already exists, as a dry-run
 * merge patch onto the stored object (as `kubectl apply --dry-run=server` patches
 * what exists), so the server's own defaulting, validation, admission and allocators
 * judge it and nothing is stored. (Server-side apply is not used: 1.20's refuses a
 * Service port without `protocol`, "associative list with keys has an element that
 * omits key field", which the API server itself defaults.)
 * Each cause the server gives becomes a problem with its field path; the resource
 * of each kind comes from the server's discovery documents, as kubectl's REST mapper
 * finds it.
 */
import type { DocumentRef, KubeClient, ManifestProblem } from "@knet/k8s";

/** One object to send: as loaded, with where it came from. */
export interface ServerSideInput {
  /** The object (apiVersion, kind, metadata.name at least). */
  readonly object: {
    readonly apiVersion?: string;
    readonly kind: string;
    readonly metadata?: { readonly name?: string; readonly namespace?: string };
  };
  /** Its document. */
  readonly source?: DocumentRef;
}

interface Resource {
  readonly name: string;
  readonly namespaced: boolean;
}

interface Status {
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes?: readonly { field?: string; message?: string; reason?: string }[] };
}

/**
 * Dry-run every object against the server behind `client`; returns the problems it
 * reports (none when it would accept them all). `namespace` is where objects that
 * name none go (kubectl's `-n`, else `default`).
 */
export async function serverSideProblems(
  client: KubeClient,
  inputs: readonly ServerSideInput[],
  namespace = "default",
): Promise<ManifestProblem[]> {
  const discovery = new Map<string, Promise<Map<string, Resource> | string>>();
  const resourcesOf = (apiVersion: string): Promise<Map<string, Resource> | string> => {
    let p = discovery.get(apiVersion);
    if (p === undefined) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = client.request("GET", path).then((r) => {
        if (r.status === 404) return `the server does not serve ${apiVersion}`;
        if (r.status !== 200) return `GET ${path}: ${r.status} ${String((r.body as Status).message ?? "")}`;
        const list = (r.body.resources as { name: string; kind: string; namespaced: boolean }[] | undefined) ?? [];
        return new Map(list.filter((x) => !x.name.includes("/")).map((x) => [x.kind, x]));
      });
      discovery.set(apiVersion, p);
    }
    return p;
  };
  const problems: ManifestProblem[] = [];
  for (const { object, source } of inputs) {
    const apiVersion = object.apiVersion ?? "v1";
    const name = object.metadata?.name ?? "";
    const ns = object.metadata?.namespace ?? namespace;
    const resources = await resourcesOf(apiVersion);
    const resource = typeof resources === "string" ? undefined : resources.get(object.kind);
    const ref = { kind: object.kind, ...(resource?.namespaced !== false ? { namespace: ns } : {}), name };
    const problem = (field: string, message: string): ManifestProblem => ({
      code: "invalid",
      field,
      message,
      object: ref,
      ...(source !== undefined ? { source } : {}),
    });
    if (resource === undefined) {
      problems.push(
        problem(
          "",
          typeof resources === "string"
            ? `no matches for kind "${object.kind}" in version "${apiVersion}": ${resources}`
            : `no matches for kind "${object.kind}" in version "${apiVersion}"`,
        ),
      );
      continue;
    }
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const collection = `${base}${resource.namespaced ? `/namespaces/${encodeURIComponent(ns)}` : ""}/${resource.name}`;
    const query = "dryRun=All&fieldManager=knet-validate";
    const body = resource.namespaced
      ? { ...object, metadata: { ...object.metadata, namespace: ns } }
      : { ...object, metadata: { ...object.metadata } };
    let r = await client.request("POST", `${collection}?${query}`, body);
    if (r.status === 409 && (r.body as Status).reason === "AlreadyExists")
      r = await client.request(
        "PATCH",
        `${collection}/${encodeURIComponent(name)}?${query}`,
        body,
        "application/merge-patch+json",
      );
    if (r.status >= 200 && r.status < 300) continue;
    const status = r.body as Status;
    const causes = status.details?.causes ?? [];
    if (causes.length === 0) {
      problems.push(problem("", `${status.reason ?? r.status}: ${status.message ?? ""}`.trim()));
      continue;
    }
    for (const c of causes) problems.push(problem(c.field ?? "", c.message ?? c.reason ?? ""));
  }
  return problems;
}

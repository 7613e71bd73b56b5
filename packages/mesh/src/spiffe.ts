import { MeshError } from "./errors.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A workload's SPIFFE identity as Istio issues it:
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`.
 * @throws {@link MeshError} when the namespace, service account or trust domain is not a valid name.
 */
export function spiffeId(namespace: string, serviceAccount: string, trustDomain = "cluster.local"): string {
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    throw new MeshError("namespace", `${JSON.stringify(namespace)} is not a valid namespace name (RFC 1123 label)`);
  }
  if (!DNS_SUBDOMAIN.test(serviceAccount) || serviceAccount.length > 253) {
    throw new MeshError("serviceAccount", `${JSON.stringify(serviceAccount)} is not a valid service account name`);
  }
  if (!DNS_SUBDOMAIN.test(trustDomain) || trustDomain.length > 255) {
    throw new MeshError("trustDomain", `${JSON.stringify(trustDomain)} is not a valid trust domain (a DNS name)`);
  }
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The parts of a SPIFFE id of Istio's form. */
export interface SpiffeParts {
  /** The trust domain. */
  readonly trustDomain: string;
  /** The namespace. */
  readonly namespace: string;
  /** The service account. */
  readonly serviceAccount: string;
}

/**
 * Split `spiffe://TD/ns/NS/sa/SA` into its parts.
 * @throws {@link MeshError} when `id` is not of that form.
 */
export function parseSpiffeId(id: string): SpiffeParts {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  if (m === null)
    throw new MeshError(
      "spiffeId",
      `${JSON.stringify(id)} is not of the form spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT`,
    );
  const [, trustDomain = "", namespace = "", serviceAccount = ""] = m;
  spiffeId(namespace, serviceAccount, trustDomain);
  return { trustDomain, namespace, serviceAccount };
}

/** The cluster package's error. */

/** Thrown when manifests cannot form a cluster (no room for a node CIDR, a pod on a missing node...). */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
}

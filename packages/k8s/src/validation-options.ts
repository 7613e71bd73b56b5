/** Cluster configuration that validation depends on (kube-apiserver flags). */
export interface ValidationOptions {
  /**
   * `--service-node-port-range`: NodePorts outside it are rejected. Either
   * `{min, max}` or the flag's text form `"30000-32767"`. Default 30000-32767.
   */
  readonly nodePortRange?: { readonly min: number; readonly max: number } | string;
  /**
   * `--service-cluster-ip-range` CIDRs (one per family). When given, a requested
   * clusterIP outside them is rejected as the allocator would, and so are IP
   * families the cluster does not have (`RequireDualStack` on a single-stack
   * cluster, an `ipFamilies` entry of a missing family). Default: not checked.
   */
  readonly serviceClusterIPRanges?: readonly string[];
}

/** The default `--service-node-port-range`. */
export const DEFAULT_NODE_PORT_RANGE: { readonly min: number; readonly max: number } = { min: 30000, max: 32767 };

/** Resolve the node-port range option (text `"a-b"` or object) into numbers. */
export function nodePortRangeOf(options: ValidationOptions): { min: number; max: number } {
  const r = options.nodePortRange;
  if (r === undefined) return { ...DEFAULT_NODE_PORT_RANGE };
  if (typeof r !== "string") return { min: r.min, max: r.max };
  const m = /^(\d+)-(\d+)$/.exec(r.trim());
  if (m === null)
    throw new RangeError(`invalid node port range ${JSON.stringify(r)}: want "MIN-MAX", e.g. "30000-32767"`);
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min > max || max > 65535 || min < 1)
    throw new RangeError(`invalid node port range ${JSON.stringify(r)}: need 1 <= MIN <= MAX <= 65535`);
  return { min, max };
}

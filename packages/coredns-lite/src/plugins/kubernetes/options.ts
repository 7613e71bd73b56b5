/** Options of the `kubernetes` plugin (its Corefile block), with CoreDNS's defaults. */

/** How `<ip>.<ns>.pod.<zone>` names are answered. */
export type PodMode = "disabled" | "insecure" | "verified";

/** Options of the kubernetes lookup; every field is optional. */
export interface KubernetesOptions {
  /** Zones served, e.g. `["cluster.local", "in-addr.arpa", "ip6.arpa"]`. Default `["cluster.local"]`. */
  readonly zones?: readonly string[];
  /** TTL of answers, 0..3600. Default 5. */
  readonly ttl?: number;
  /** Pod records. Default `disabled`. */
  readonly pods?: PodMode;
  /** Name endpoints without a hostname after their pod (`endpoint_pod_names`). Default false. */
  readonly endpointPodNames?: boolean;
  /** NXDOMAIN for ClusterIP services without ready endpoints (`ignore empty_service`). Default false. */
  readonly ignoreEmptyService?: boolean;
  /** Only these namespaces are exposed (`namespaces a b`); empty = all. */
  readonly namespaces?: readonly string[];
  /** Ignore EndpointSlices (`noendpoints`): headless and endpoint names give NXDOMAIN. */
  readonly noEndpoints?: boolean;
  /** NXDOMAIN answers for names in these zones go to the next plugin (`fallthrough`); `["."]` = all. */
  readonly fallthrough?: readonly string[];
  /**
   * The server's own IPs, to find the Service that fronts it for NS answers
   * (CoreDNS uses the pod's addresses). Without a match the NS is `ns.dns.<zone>`
   * with these addresses.
   */
  readonly selfAddresses?: readonly string[];
  /**
   * Multi-cluster zones (`multicluster clusterset.local`): names there answer from
   * ServiceImports (KEP-1645) instead of Services. Each must be one of `zones`.
   */
  readonly multicluster?: readonly string[];
}

/** Options with every default applied (zones absolute and lower case). */
export interface ResolvedKubernetesOptions {
  /** Zones, absolute, lower case. */
  readonly zones: readonly string[];
  /** The first forward zone: PTR targets and NS names use it. */
  readonly primaryZone: string;
  /** Answer TTL. */
  readonly ttl: number;
  /** Pod mode. */
  readonly pods: PodMode;
  /** `endpoint_pod_names`. */
  readonly endpointPodNames: boolean;
  /** `ignore empty_service`. */
  readonly ignoreEmptyService: boolean;
  /** Exposed namespaces (empty: all). */
  readonly namespaces: ReadonlySet<string>;
  /** `noendpoints`. */
  readonly noEndpoints: boolean;
  /** Fallthrough zones (absolute, lower case); empty: none. */
  readonly fallthrough: readonly string[];
  /** Own addresses (canonical text). */
  readonly selfAddresses: readonly string[];
  /** Multi-cluster zones (absolute, lower case); empty: none. */
  readonly multicluster: readonly string[];
}

function abs(z: string): string {
  const l = z.toLowerCase();
  if (l === "" || l === ".") return ".";
  return l.endsWith(".") ? l : `${l}.`;
}

/** True for zones under `in-addr.arpa.` or `ip6.arpa.`. */
export function isReverseZone(zone: string): boolean {
  return (
    zone === "in-addr.arpa." || zone.endsWith(".in-addr.arpa.") || zone === "ip6.arpa." || zone.endsWith(".ip6.arpa.")
  );
}

/** Apply defaults and check ranges. @throws RangeError for a TTL outside 0..3600 or a multicluster zone not served. */
export function resolveOptions(o: KubernetesOptions = {}): ResolvedKubernetesOptions {
  const zones = (o.zones ?? ["cluster.local"]).map(abs);
  if (zones.length === 0) throw new RangeError("kubernetes: at least one zone is needed");
  const ttl = o.ttl ?? 5;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600)
    throw new RangeError(`kubernetes: ttl ${ttl} is outside 0..3600`);
  const multicluster = (o.multicluster ?? []).map(abs);
  for (const z of multicluster) {
    if (!zones.includes(z))
      throw new RangeError(
        `kubernetes: is not authoritative for the multicluster zone ${z} (authoritative zones: ${zones.join(" ")}); add it to the plugin's zones`,
      );
  }
  const primaryZone = zones.find((z) => !isReverseZone(z)) ?? (zones[0] as string);
  return {
    zones,
    primaryZone,
    ttl,
    pods: o.pods ?? "disabled",
    endpointPodNames: o.endpointPodNames ?? false,
    ignoreEmptyService: o.ignoreEmptyService ?? false,
    namespaces: new Set(o.namespaces ?? []),
    noEndpoints: o.noEndpoints ?? false,
    fallthrough: (o.fallthrough ?? []).map(abs),
    selfAddresses: [...(o.selfAddresses ?? [])],
    multicluster,
  };
}

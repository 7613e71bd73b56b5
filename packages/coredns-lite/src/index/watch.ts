/** Keep a {@link DnsIndex} in step with a `@knet/k8s` ClusterState, like CoreDNS's informers. */
import type { ClusterState } from "@knet/k8s";
import type { DnsIndex } from "./dns-index.js";

/**
 * Feed `index` every Namespace, Pod, Service and EndpointSlice of `state`
 * (existing ones first, then every change as it happens). Returns a function
 * that stops watching.
 */
export function watchClusterState(index: DnsIndex, state: ClusterState): () => void {
  return state.subscribe(
    (e) => {
      if (e.type === "deleted") index.remove(e.object);
      else index.upsert(e.object);
    },
    { kinds: ["Namespace", "Pod", "Service", "EndpointSlice"], replay: true },
  );
}

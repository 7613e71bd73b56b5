/** The eBPF mode's entry for `@knet/kube-proxy`'s mode registry. */
import type { ProxyModeDefinition } from "@knet/kube-proxy";
import { EbpfEngine, type EbpfEngineOptions } from "./engine.js";

/**
 * `--mode ebpf`: Cilium-style socket-level load balancing. `render()` prints the
 * `bpftool batch file` of a full sync (map updates for the pinned `cilium_lb*`
 * maps); `renderMaps()` the maps in Cilium's test dump format. The factory
 * accepts {@link EbpfEngineOptions} (`algorithm`, `maglevTableSize`,
 * `maglevHashSeed`, `algorithmAnnotation`, `annotations`) beside the shared
 * engine options. Register it with `registerProxyMode(ebpfMode)`.
 */
export const ebpfMode: ProxyModeDefinition = {
  name: "ebpf",
  description:
    "bpftool batch of Cilium's LB map updates (service, backend, reverse-NAT, affinity, source-range, Maglev)",
  artifacts: [
    {
      name: "batch",
      description: "map update/delete lines for the pinned cilium_lb* maps, run with bpftool batch file",
    },
    { name: "maps", description: "the LB maps as Cilium's load-balancer tests dump them (BE:, REV:, SVC:, MAGLEV:)" },
  ],
  create: (options) => new EbpfEngine(options as EbpfEngineOptions),
};

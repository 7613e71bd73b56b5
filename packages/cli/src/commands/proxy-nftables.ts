import { NftablesEngine } from "@knet/kube-proxy-nftables";
import type { ProxyMode } from "./proxy.js";

/**
 * `--mode nftables`: kube-proxy's nftables mode. `render` prints the `nft -f`
 * transaction of a first full sync (the `kube-proxy` table: base chains, verdict
 * maps, per-service and per-endpoint chains); `trace` runs the packet through
 * that table's hooks and lists every rule visited.
 */
export const nftablesMode: ProxyMode = {
  name: "nftables",
  summary: "nft -f transaction for table ip/ip6 kube-proxy, as kube-proxy --proxy-mode=nftables writes it",
  create: (options) => new NftablesEngine(options),
};

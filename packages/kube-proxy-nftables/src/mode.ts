/** The nftables mode's entry for `@knet/kube-proxy`'s mode registry. */
import type { ProxyModeDefinition } from "@knet/kube-proxy";
import { NftablesEngine } from "./engine.js";

/**
 * `--proxy-mode=nftables`: `render()` prints the `nft -f` transaction of a full
 * sync (the `kube-proxy` table: base chains, verdict maps, per-service and
 * per-endpoint chains). Register it with `registerProxyMode(nftablesMode)`.
 */
export const nftablesMode: ProxyModeDefinition = {
  name: "nftables",
  description: "nft -f transaction for table ip/ip6 kube-proxy, as kube-proxy --proxy-mode=nftables writes it",
  artifacts: [{ name: "nft", description: "the ip/ip6 kube-proxy table, loaded with nft -f" }],
  create: (options) => new NftablesEngine(options),
};

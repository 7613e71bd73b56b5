/**
 * The proxy engines `knet` bundles. Every command that offers `--mode` reads
 * `@knet/kube-proxy`'s mode registry; this is the one place that fills it.
 * Adding a mode to the CLI is one line here (and the package in package.json).
 */
import { registerProxyMode } from "@knet/kube-proxy";
import { ebpfMode } from "@knet/kube-proxy-ebpf";
import { iptablesMode } from "@knet/kube-proxy-iptables";
import { ipvsMode } from "@knet/kube-proxy-ipvs";
import { nftablesMode } from "@knet/kube-proxy-nftables";

/** Register the bundled modes (idempotent); `main()` calls it before running a command. */
export function registerBundledModes(): void {
  registerProxyMode(iptablesMode);
  registerProxyMode(nftablesMode);
  registerProxyMode(ipvsMode);
  registerProxyMode(ebpfMode);
}

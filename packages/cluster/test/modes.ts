// The proxy modes the cluster tests run under, registered as the CLI bundles them.
import { registerProxyMode } from "@knet/kube-proxy";
import { iptablesMode } from "@knet/kube-proxy-iptables";
import { ipvsMode } from "@knet/kube-proxy-ipvs";
import { nftablesMode } from "@knet/kube-proxy-nftables";

for (const mode of [iptablesMode, nftablesMode, ipvsMode]) registerProxyMode(mode);

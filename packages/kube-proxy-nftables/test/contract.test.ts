import { runProxyContract } from "@knet/kube-proxy/contract";
import { NftablesEngine } from "@knet/kube-proxy-nftables";

runProxyContract({ mode: "nftables", create: (o) => new NftablesEngine(o) });

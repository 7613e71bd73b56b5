import { runProxyContract } from "@knet/kube-proxy/contract";
import { IptablesEngine } from "@knet/kube-proxy-iptables";

runProxyContract({ mode: "iptables", create: (options) => new IptablesEngine(options) });

import { IptablesEngine } from "@knet/kube-proxy-iptables";
import type { ProxyMode } from "./proxy.js";

/** `--mode iptables`: kube-proxy's iptables mode (iptables-restore payload). */
export const iptablesMode: ProxyMode = {
  name: "iptables",
  summary: "iptables-restore input (filter and nat), as kube-proxy --proxy-mode=iptables writes it",
  create: (options) => new IptablesEngine(options),
};

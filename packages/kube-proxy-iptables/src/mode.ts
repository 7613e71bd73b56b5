/** The iptables mode's entry for `@knet/kube-proxy`'s mode registry. */
import type { ProxyModeDefinition } from "@knet/kube-proxy";
import { IptablesEngine } from "./engine.js";

/** `--proxy-mode=iptables`: register it with `registerProxyMode(iptablesMode)`. */
export const iptablesMode: ProxyModeDefinition = {
  name: "iptables",
  description: "iptables-restore input (filter and nat), as kube-proxy --proxy-mode=iptables writes it",
  artifacts: [
    { name: "iptables-restore", description: "the filter and nat tables, loaded with iptables-restore --noflush" },
  ],
  create: (options) => new IptablesEngine(options),
};

/** The IPVS mode's entry for `@knet/kube-proxy`'s mode registry. */
import type { ProxyModeDefinition } from "@knet/kube-proxy";
import { IpvsEngine } from "./engine.js";

/**
 * `--proxy-mode=ipvs`: `render()` prints the kube-ipvs0 addresses, `ipvsadm -S -n`,
 * `ipvsadm -Ln`, the `ipset restore` input and the iptables-restore payload, each
 * under a `# ==== ... ====` heading. Register it with `registerProxyMode(ipvsMode)`.
 */
export const ipvsMode: ProxyModeDefinition = {
  name: "ipvs",
  description:
    "kube-ipvs0 addresses, ipvsadm -S/-Ln, ipset restore and iptables-restore, as --proxy-mode=ipvs writes them",
  artifacts: [
    { name: "ip-address", description: "the service addresses bound to the kube-ipvs0 dummy device" },
    { name: "ipvsadm", description: "virtual and real servers, as ipvsadm -S -n saves them (load with ipvsadm -R)" },
    { name: "ipset", description: "the KUBE-* sets, loaded with ipset restore" },
    { name: "iptables-restore", description: "the filter and nat rules IPVS mode keeps" },
  ],
  create: (options) => new IpvsEngine(options),
};

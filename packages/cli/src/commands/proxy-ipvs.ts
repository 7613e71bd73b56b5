import { IpvsEngine } from "@knet/kube-proxy-ipvs";
import type { ProxyMode } from "./proxy.js";

/**
 * `--mode ipvs`: kube-proxy's IPVS mode. `render` prints the kube-ipvs0
 * addresses, `ipvsadm -S -n`, `ipvsadm -Ln`, the `ipset restore` input and the
 * iptables-restore payload, each under a `# ==== ... ====` heading; `trace`
 * follows a packet through the iptables hooks, the IPVS table and back.
 */
export const ipvsMode: ProxyMode = {
  name: "ipvs",
  summary: "kube-ipvs0 addresses, ipvsadm -S/-Ln, ipset restore and iptables-restore, as --proxy-mode=ipvs writes them",
  create: (options) => new IpvsEngine(options),
};

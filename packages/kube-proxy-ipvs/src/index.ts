/**
 * `@knet/kube-proxy-ipvs`: kube-proxy's IPVS mode: virtual and real servers, the kernel's schedulers, ipsets and the iptables rules IPVS mode keeps.
 *
 * @module
 */
export {};

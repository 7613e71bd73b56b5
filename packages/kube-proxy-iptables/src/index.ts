/**
 * `@knet/kube-proxy-iptables`: kube-proxy's iptables mode: the exact iptables-restore ruleset, partial syncs, an iptables-save parser and a kernel-faithful evaluator.
 *
 * @module
 */
export {};

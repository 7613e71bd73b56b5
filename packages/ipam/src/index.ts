/**
 * `@knet/ipam`: Address allocation: host-local compatible ranges and disk store, node pod CIDRs, Service ClusterIPs and NodePorts.
 *
 * @module
 */
export {};
